#!/bin/sh
# xtrk checkout: restore a run into a folder or the workspace, verified, refusing bad cases.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir -p data/sub
i=0; while [ $i -lt 30 ]; do head -c 3000 /dev/urandom > data/f$i; i=$((i+1)); done
echo deep > data/sub/deep.txt
chmod +x data/sub/deep.txt
ln -s f1 data/link
head -c 2000000 /dev/urandom > model.bin
printf 'lr: 0.1\n' > params.yaml
echo "# uncommitted tweak" >> train.py
run=$(xtrk commit-run -e exp -P params.yaml -d data --model model.bin)
( cd data && find . -type f -exec xxhsum -H2 {} + | sort -k2 ) > want-data
want_model=$(xxhsum -H2 model.bin | cut -d" " -f1)
cp train.py want-train.py

check "checkout into an empty folder rebuilds source, data, model and params" '
	xtrk checkout -C "$TRASH/out" $run 2>err
	( cd "$TRASH/out/data" && find . -type f -exec xxhsum -H2 {} + | sort -k2 ) > got-data
	cmp want-data got-data
	expect_eq "$(xxhsum -H2 "$TRASH/out/model.bin" | cut -d" " -f1)" "$want_model"
	cmp "$TRASH/out/params.yaml" params.yaml
	cmp "$TRASH/out/train.py" want-train.py
	cmp "$TRASH/out/config.py" config.py
	expect_eq "$(readlink "$TRASH/out/data/link")" f1
	test -x "$TRASH/out/data/sub/deep.txt"
	expect_contains "$(cat err)" "with its uncommitted patch"
'
check "the restored source equals the commit plus the patch (git agrees)" '
	cd "$TRASH/out" && git init -q . && git add train.py config.py
	cd "$TRASH" && git diff --no-index --stat out/train.py train.py && true
	cmp out/train.py train.py
'
check "an environment report follows" '
	out=$(xtrk checkout -C "$TRASH/out2" $run 2>/dev/null)
	expect_contains "$out" "environment"
'
check "in the workspace: refuses to overwrite uncommitted work without --force" '
	echo "# other work" >> config.py
	before=$(cat config.py)
	err=$(xtrk checkout $run 2>&1 || true)
	expect_contains "$err" "uncommitted changes"
	expect_eq "$(cat config.py)" "$before"
	git checkout -q config.py
'
check "in the workspace: restores deleted and changed data" '
	rm data/f3 && echo broken > data/f4 && rm model.bin
	xtrk checkout $run 2>/dev/null
	( cd data && find . -type f -exec xxhsum -H2 {} + | sort -k2 ) > got-data
	cmp want-data got-data
	expect_eq "$(xxhsum -H2 model.bin | cut -d" " -f1)" "$want_model"
	cmp train.py want-train.py
'
check "in the workspace at the run's commit: the branch stays checked out, the patch comes back" '
	branch=$(git symbolic-ref HEAD)
	git checkout -q train.py
	xtrk checkout $run 2>/dev/null
	expect_eq "$(git symbolic-ref HEAD)" "$branch"
	cmp train.py want-train.py
'
check "a corrupt object is reported and never lands" '
	m=.xtrk/objects/$(echo $want_model | cut -c1-2)/$(echo $want_model | cut -c3-)
	chmod u+w $m && cp -p $m saved.obj
	flip_byte $m 100000 && flip_byte $m 100001
	rm -rf "$TRASH/out3"
	err=$(xtrk checkout -C "$TRASH/out3" $run 2>&1 || true)
	expect_contains "$err" "$want_model"
	expect_contains "$err" "model.bin"
	test ! -e "$TRASH/out3/model.bin"
	test -z "$(ls -a "$TRASH/out3" | grep xtrk-checkout || true)"
	cp saved.obj $m
	xtrk fsck --read-data
'
check "a folder in the way of a file is an error" '
	rm -rf "$TRASH/out4" && mkdir -p "$TRASH/out4/model.bin"
	err=$(xtrk checkout -C "$TRASH/out4" --no-source $run 2>&1 || true)
	expect_contains "$err" "is a folder where the run has a file"
'
check "a symlink in the target cannot lead the restore outside it" '
	rm -rf "$TRASH/out5" "$TRASH/elsewhere" && mkdir -p "$TRASH/out5" "$TRASH/elsewhere"
	ln -s "$TRASH/elsewhere" "$TRASH/out5/data"
	err=$(xtrk checkout -C "$TRASH/out5" --no-source $run 2>&1 || true)
	expect_contains "$err" "in the way"
	expect_eq "$(ls "$TRASH/elsewhere" | wc -l)" 0
'
check "a run whose commit is not in the repository: say so, suggest --with-source" '
	git checkout -q --detach && git commit -q --allow-empty -m orphan
	xtrk commit-run -e orphan >/dev/null
	git checkout -q main
	git reflog expire --expire=now --all && git gc -q --prune=now
	err=$(xtrk checkout -C "$TRASH/out6" orphan 2>&1 || true)
	expect_contains "$err" "is not in this git repository"
	expect_contains "$err" "--with-source"
'
check "a patch that no longer applies: clear error, nothing written" '
	printf "diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1,2 +1,2 @@\n-this line is not there\n+replacement\n print(\"training\")\n" > bad.patch
	bad=$(xtrk hash-object -w bad.patch)
	xtrk cat-object $run > r.json
	python3 - r.json $bad <<-PY
	import json, sys
	r = json.load(open(sys.argv[1]))
	r["source"]["patch"] = sys.argv[2]
	open("r2.json", "w").write(json.dumps(r, sort_keys=True, separators=(",", ":")))
	PY
	id2=$(xtrk hash-object -w -t run r2.json)
	echo $id2 > .xtrk/refs/experiments/exp/$id2
	rm -rf "$TRASH/out7"
	err=$(xtrk checkout -C "$TRASH/out7" $id2 2>&1 || true)
	rm .xtrk/refs/experiments/exp/$id2
	expect_contains "$err" "does not apply"
	expect_contains "$err" "nothing was changed"
	test ! -e "$TRASH/out7"
'
check "unknown run: error" '
	expect_exit 1 xtrk checkout nope
	expect_exit 2 xtrk checkout
'
finish
