#!/bin/sh
# xtrk status: drift of data and models, moved source; exit 3 when anything differs.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir data && echo a > data/a && echo b > data/b
echo m > model.bin

check "no runs yet is a clear error, exit 1" '
	set +e; err=$(xtrk status 2>&1); rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$err" "no runs yet"
'
check "runs that recorded no datasets or models: an error that says to name a run" '
	xtrk commit-run -m "params only" -p lr=0.1 > /dev/null
	set +e; err=$(xtrk status 2>&1); rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$err" "recorded no datasets or models"
	expect_contains "$err" "xtrk status RUN"
'
run=$(xtrk commit-run -m "baseline training" -d data --model model.bin)
short=$(echo $run | cut -c1-12)

check "a matching workspace: exit 0, the run named by short ID and message" '
	out=$(xtrk status)
	expect_contains "$out" "on run $short \"baseline training\""
	expect_contains "$out" "the workspace matches the run"
	expect_contains "$out" "unchanged"
	expect_eq "$(xtrk status --json | json_get run)" $run
	expect_eq "$(xtrk status --json | json_get message)" "baseline training"
'
check "a drifted dataset and a missing model: exit 3, named" '
	echo changed > data/a
	mv model.bin model.away
	set +e; out=$(xtrk status); rc=$?; set -e
	mv model.away model.bin
	echo a > data/a
	expect_eq $rc 3
	expect_contains "$out" "modified (1 modified, 0 added, 0 removed)"
	expect_contains "$out" "missing"
	expect_contains "$out" "the workspace differs from the run"
'
check "--json gives each entry its state" '
	echo extra > data/c
	set +e; xtrk status --json > s.json; rc=$?; set -e
	rm data/c
	expect_eq $rc 3
	python3 - s.json <<-PY
	import json, sys
	s = json.load(open(sys.argv[1]))
	assert s["clean"] is False
	assert s["datasets"][0]["state"] == "modified" and s["datasets"][0]["added"] == ["data/c"], s
	assert s["models"][0]["state"] == "unchanged", s
	PY
'
check "the text names the changed files, as git status does" '
	echo changed > data/a
	rm data/b
	echo extra > data/c
	echo m2 > model.bin
	set +e; out=$(xtrk status); rc=$?; set -e
	echo a > data/a && echo b > data/b && rm data/c && echo m > model.bin
	expect_eq $rc 3
	printf "%s\n" "$out" > out.txt
	grep -Eq "^ +modified: +data/a$" out.txt
	grep -Eq "^ +deleted: +data/b$" out.txt
	grep -Eq "^ +new file: +data/c$" out.txt
	grep -Eq "^ +modified: +model.bin$" out.txt
	expect_eq "$(xtrk status)" "$(xtrk status $run)"
'
check "a newer run that failed and recorded no data is passed over" '
	set +e; xtrk run -m "crashed early" -- sh -c "exit 1" >/dev/null 2>&1; rc=$?; set -e
	expect_eq $rc 1
	expect_eq "$(xtrk log --format json -n 1 | json_get 0.status)" failed
	out=$(xtrk status)
	expect_contains "$out" "on run $short \"baseline training\""
	expect_contains "$out" "the workspace matches the run"
	expect_eq "$(xtrk status --json | json_get run)" $run
	echo changed > data/a
	set +e; out=$(xtrk status); rc=$?; set -e
	echo a > data/a
	expect_eq $rc 3
	expect_contains "$out" "the workspace differs from the run"
	printf "%s\n" "$out" | grep -Eq "^ +modified: +data/a$"
'
check "more than 20 changed files: the first 20, then how many more; --all lists every one" '
	mkdir many && i=0 && while [ $i -lt 25 ]; do echo $i > many/f$(printf %02d $i); i=$((i+1)); done
	big=$(xtrk commit-run -m "many files" -d many)
	i=0 && while [ $i -lt 25 ]; do echo x$i > many/f$(printf %02d $i); i=$((i+1)); done
	set +e; out=$(xtrk status); rc=$?; set -e
	expect_eq $rc 3
	expect_contains "$out" "on run $(echo $big | cut -c1-12) \"many files\""
	expect_eq "$(printf "%s\n" "$out" | grep -Ec "^ +modified: +many/f")" 20
	expect_contains "$out" "many/f19"
	expect_not_contains "$out" "many/f20"
	expect_contains "$out" "and 5 more"
	set +e; out=$(xtrk status --all); rc=$?; set -e
	expect_eq $rc 3
	expect_eq "$(printf "%s\n" "$out" | grep -Ec "^ +modified: +many/f")" 25
	expect_not_contains "$out" "more"
	rm -r many
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
