#!/bin/sh
# xtrk commit-run: the basic record, its JSON shape, deduplication and the stat cache.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir -p data/a data/b
for i in 1 2 3 4 5; do head -c 4000 /dev/urandom > data/a/f$i; echo "row $i" > data/b/r$i.csv; done
head -c 2000000 /dev/urandom > model.pt

check "commit-run prints one 32-hex ID" '
	id=$(xtrk commit-run -e exp1 -m "baseline" -d data --model model.pt -p lr=0.01 --metric acc=0.5)
	echo "$id" | grep -Eqx "[0-9a-f]{32}"
	echo "$id" > ../first-id 2>/dev/null || echo "$id" > "$TRASH/first"
'
check "show --json has every documented field" '
	j=$(xtrk show --json exp1)
	for k in id experiment message parent author started ended duration_s status exit_code command \
		source params metrics series seed datasets models artifacts env logs resources tags notes; do
		echo "$j" | python3 -c "import json,sys; d=json.load(sys.stdin); assert \"$k\" in d, \"$k\""
	done
	expect_eq "$(echo "$j" | json_get experiment)" exp1
	expect_eq "$(echo "$j" | json_get message)" baseline
	expect_eq "$(echo "$j" | json_get status)" succeeded
	expect_eq "$(echo "$j" | json_get params.lr)" 0.01
	expect_eq "$(echo "$j" | json_get metrics.acc)" 0.5
	echo "$j" | json_get started | grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"
'
check "the model ID is what xxhsum -H2 prints for the file" '
	j=$(xtrk show --json exp1)
	expect_eq "$(echo "$j" | json_get models.0.id)" "$(xxhsum -H2 model.pt | cut -d" " -f1)"
	expect_eq "$(echo "$j" | json_get models.0.kind)" blob
	expect_eq "$(echo "$j" | json_get models.0.path)" model.pt
'
check "the dataset is a tree with the right manifest" '
	j=$(xtrk show --json exp1)
	expect_eq "$(echo "$j" | json_get datasets.0.kind)" tree
	expect_eq "$(echo "$j" | json_get datasets.0.name)" data
	expect_eq "$(echo "$j" | json_get datasets.0.files)" 10
	expect_eq "$(echo "$j" | json_get datasets.0.bytes)" $(cat data/*/* | wc -c)
'
check "the run object re-hashes to its ID" '
	id=$(xtrk show --json exp1 | json_get id)
	xtrk cat-object $id > run.bin
	expect_eq "$(xxhsum -H2 run.bin | cut -d" " -f1)" "$id"
	expect_eq "$(xtrk cat-object -t $id)" run
'
check "an unchanged dataset keeps its tree ID and adds no data" '
	before=$(find .xtrk/objects -type f -newer .xtrk/config | wc -l)
	id2=$(xtrk commit-run -e exp1 -d data --model model.pt)
	a=$(xtrk show --json exp1~1 | json_get datasets.0.id)
	b=$(xtrk show --json $id2 | json_get datasets.0.id)
	expect_eq "$a" "$b"
'
check "a changed sub-folder changes its tree, the unchanged one keeps its ID" '
	t1=$(xtrk show --json exp1 | json_get datasets.0.id)
	echo "row 99" >> data/b/r1.csv
	xtrk commit-run -e exp1 -d data >/dev/null
	t2=$(xtrk show --json exp1 | json_get datasets.0.id)
	test "$t1" != "$t2"
	a1=$(xtrk cat-object $t1 | grep "	a$" | cut -d" " -f3)
	a2=$(xtrk cat-object $t2 | grep "	a$" | cut -d" " -f3)
	expect_eq "$a1" "$a2"
'
check "the stat cache records what was hashed" '
	test -s .xtrk/cache/stat
	grep -q " data/a/f1$" .xtrk/cache/stat
'
check "a file changed behind the cache (same size, mtime put back) is re-read" '
	sleep 1.2
	xtrk commit-run -e cache -d data >/dev/null
	touch -r data/a/f1 f1.times
	printf "X" | dd of=data/a/f1 bs=1 seek=10 conv=notrunc 2>/dev/null
	# as cp -p, rsync -t or tar x would leave it: only the ctime tells (a fresh mtime alone is never trusted)
	touch -r f1.times data/a/f1
	id=$(xtrk commit-run -e cache -d data)
	want=$(xxhsum -H2 data/a/f1 | cut -d" " -f1)
	tree=$(xtrk show --json $id | json_get datasets.0.id)
	sub=$(xtrk cat-object $tree | grep "	a$" | cut -d" " -f3)
	xtrk cat-object $sub | grep "^100644 blob $want 4000 1	f1$" >/dev/null
'
check "--json prints the run" '
	j=$(xtrk commit-run -e exp2 --json --tag t1)
	echo "$j" | json_get id | grep -Eqx "[0-9a-f]{32}"
	expect_eq "$(echo "$j" | json_get tags.0)" t1
'
check "--note, --seed and --parent are recorded" '
	p=$(xtrk show --json exp1 | json_get id)
	id=$(xtrk commit-run -e exp3 --note "try a smaller lr" --seed 7 --parent exp1)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get notes.0)" "try a smaller lr"
	expect_eq "$(echo "$j" | json_get seed)" 7
	expect_eq "$(echo "$j" | json_get parent)" "$p"
'
check "a tag that exists is refused before anything is written" '
	before=$(store_listing)
	err=$(xtrk commit-run -e exp2 --tag t1 2>&1 || true)
	expect_contains "$err" "tag '"'"'t1'"'"' already names run"
	expect_eq "$(store_listing)" "$before"
'
check "bad experiment names are refused" '
	expect_exit 1 xtrk commit-run -e "../evil"
	expect_exit 1 xtrk commit-run -e ".hidden"
'
check "commit-run rejects unexpected arguments with exit 2" '
	expect_exit 2 xtrk commit-run stray
	expect_exit 2 xtrk commit-run --seed abc
'
check "fsck is clean after all of this" '
	xtrk fsck --read-data
'
finish
