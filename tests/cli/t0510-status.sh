#!/bin/sh
# xtrk status: drift of data and models, moved source; exit 3 when anything differs.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir data && echo a > data/a && echo b > data/b
echo m > model.bin

check "no runs yet is a clear error" '
	err=$(xtrk status 2>&1 || true)
	expect_contains "$err" "no runs yet"
'
run=$(xtrk commit-run -d data --model model.bin)

check "a matching workspace: exit 0" '
	out=$(xtrk status)
	expect_contains "$out" "the workspace matches the run"
	expect_contains "$out" "unchanged"
'
check "a drifted dataset and a missing model: exit 3, named" '
	echo changed > data/a
	mv model.bin model.away
	set +e; out=$(xtrk status); rc=$?; set -e
	mv model.away model.bin
	expect_eq $rc 3
	expect_contains "$out" "modified (1 modified, 0 added, 0 removed)"
	expect_contains "$out" "missing"
	echo a > data/a
'
check "--json gives each entry its state" '
	echo extra > data/c
	set +e; xtrk status --json > s.json; set -e
	rm data/c
	python3 - s.json <<-PY
	import json, sys
	s = json.load(open(sys.argv[1]))
	assert s["clean"] is False
	assert s["datasets"][0]["state"] == "modified" and s["datasets"][0]["added"] == ["data/c"], s
	assert s["models"][0]["state"] == "unchanged", s
	PY
'
check "a data file rewritten in place, its size and mtime kept, is seen as modified" '
	touch -d "1 hour ago" data/a data/b model.bin # old enough for the stat cache to trust
	xtrk commit-run -d data --model model.bin >/dev/null
	touch -r data/a a.times
	echo B > data/a
	touch -r a.times data/a # as cp -p, rsync -t or tar x leave it: only the ctime tells
	set +e; out=$(xtrk status); rc=$?; set -e
	echo a > data/a
	expect_eq $rc 3
	expect_contains "$out" "modified (1 modified, 0 added, 0 removed)"
'
check "a moved source is reported" '
	echo "# more" >> train.py && git commit -qam more
	set +e; out=$(xtrk status $run); rc=$?; set -e
	expect_eq $rc 3
	expect_contains "$out" "source moved"
'
finish
