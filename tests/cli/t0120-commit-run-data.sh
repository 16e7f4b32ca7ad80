#!/bin/sh
# commit-run datasets, models and artifacts: names, provenance, paths, links, bad input.
. "$(dirname "$0")/lib.sh"

new_ws
mkdir -p data/train/sub data/test
for i in 1 2 3; do echo "x$i" > data/train/f$i; echo "y$i" > data/train/sub/g$i; done
echo t > data/test/t1
echo w > weights.bin

check "NAME=PATH@SOURCE names the dataset and keeps its provenance" '
	id=$(xtrk commit-run -d train=data/train@s3://bucket/train-v3 -d data/test)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get datasets.0.name)" train
	expect_eq "$(echo "$j" | json_get datasets.0.path)" data/train
	expect_eq "$(echo "$j" | json_get datasets.0.source)" s3://bucket/train-v3
	expect_eq "$(echo "$j" | json_get datasets.0.files)" 6
	expect_eq "$(echo "$j" | json_get datasets.1.name)" test
	expect_eq "$(echo "$j" | json_get datasets.1.source)" null
'
check "models and artifacts are recorded separately" '
	echo report > report.txt
	id=$(xtrk commit-run --model weights.bin --artifact report=report.txt)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get models.0.name)" weights.bin
	expect_eq "$(echo "$j" | json_get artifacts.0.name)" report
	expect_eq "$(echo "$j" | json_get artifacts.0.id)" "$(xxhsum -H2 report.txt | cut -d" " -f1)"
'
check "paths are recorded relative to the workspace from a subfolder" '
	cd data
	id=$(xtrk commit-run -d train)
	expect_eq "$(xtrk show --json $id | json_get datasets.0.path)" data/train
'
check "a trailing slash is fine" '
	id=$(xtrk commit-run -d data/train/)
	expect_eq "$(xtrk show --json $id | json_get datasets.0.path)" data/train
'
check "a missing dataset is an error and nothing is written" '
	before=$(store_listing)
	err=$(xtrk commit-run -d data/nope 2>&1 || true)
	expect_contains "$err" "dataset '"'"'data/nope'"'"' does not exist"
	expect_exit 1 xtrk commit-run -d data/nope
	expect_eq "$(store_listing)" "$before"
'
check "a dataset outside the workspace is refused" '
	mkdir -p /tmp/xtrk-out-$$ && echo z > /tmp/xtrk-out-$$/f
	err=$(xtrk commit-run -d /tmp/xtrk-out-$$ 2>&1 || true)
	rm -rf /tmp/xtrk-out-$$
	expect_contains "$err" "is outside the workspace"
	err=$(xtrk commit-run -d ../.. 2>&1 || true)
	expect_contains "$err" "is outside the workspace"
'
check "the store itself cannot be a dataset" '
	err=$(xtrk commit-run -d .xtrk/objects 2>&1 || true)
	expect_contains "$err" "inside the store"
'
check "two datasets with one name are refused" '
	err=$(xtrk commit-run -d x=data/train -d x=data/test 2>&1 || true)
	expect_contains "$err" "given twice"
'
check "symbolic links are recorded as links, not followed" '
	ln -s f1 data/train/link
	id=$(xtrk commit-run -d data/train)
	tree=$(xtrk show --json $id | json_get datasets.0.id)
	line=$(xtrk cat-object $tree | grep "	link$")
	expect_contains "$line" "120000 link"
	blob=$(echo "$line" | cut -d" " -f3)
	expect_eq "$(xtrk cat-object $blob)" f1
	rm data/train/link
'
check "a file that cannot be read is an error naming it; nothing is written" '
	test -f "$SHIM"
	echo s > data/train/failing
	before=$(store_listing)
	set +e
	err=$(LD_PRELOAD=$SHIM XTRK_TEST_EIO_PATH=data/train/failing xtrk commit-run -d data/train 2>&1)
	rc=$?
	set -e
	rm data/train/failing
	expect_eq $rc 1
	expect_contains "$err" "cannot read '"'"'data/train/failing'"'"'"
	expect_contains "$err" "Input/output error"
	expect_eq "$(store_listing)" "$before"
'
check "a file without read permission is an error naming it (as a user)" '
	if [ "$(id -u)" = 0 ]; then exit 0; fi  # root reads everything; the EIO case above covers it
	echo s > data/train/secret && chmod 000 data/train/secret
	err=$(xtrk commit-run -d data/train 2>&1 || true)
	chmod 644 data/train/secret; rm data/train/secret
	expect_contains "$err" "data/train/secret"
'
check "a FIFO in a dataset is refused with a clear error" '
	mkfifo data/test/pipe
	err=$(xtrk commit-run -d data/test 2>&1 || true)
	rm data/test/pipe
	expect_contains "$err" "device, FIFO or socket"
'
check "the whole workspace can be a dataset; .xtrk and .git are skipped" '
	git init -q . 2>/dev/null || true
	id=$(xtrk commit-run -d all=.)
	tree=$(xtrk show --json $id | json_get datasets.0.id)
	out=$(xtrk cat-object $tree)
	expect_not_contains "$out" ".xtrk"
	expect_not_contains "$out" ".git"
	expect_contains "$out" "	data"
'
check "empty folders and empty files are kept" '
	mkdir -p data/empty && : > data/test/zero
	id=$(xtrk commit-run -d data)
	tree=$(xtrk show --json $id | json_get datasets.0.id)
	xtrk cat-object $tree | grep "	empty$" >/dev/null
'
check "a 2000-file dataset hashes in parallel and fsck agrees" '
	mkdir -p many && i=0
	while [ $i -lt 2000 ]; do echo "file $i" > many/f$i; i=$((i+1)); done
	id=$(xtrk commit-run -d many --threads 4)
	expect_eq "$(xtrk show --json $id | json_get datasets.0.files)" 2000
	xtrk fsck --read-data
	test $(find .xtrk/objects -type f | wc -l) -lt 100
'
finish
