#!/bin/sh
# xtrk show: the human view and --json, and errors for unknown runs.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir data && echo x > data/a
id=$(xtrk commit-run -e mnist -m "baseline run" -p lr=0.1 --metric acc=0.93 -d train=data@hf://ds \
	--model m=data/a --note "why not" --tag best)

check "the human view shows the run's parts" '
	out=$(xtrk show $id)
	expect_contains "$out" "run $id"
	expect_contains "$out" "experiment: mnist"
	expect_contains "$out" "message:    baseline run"
	expect_contains "$out" "tags:       best"
	expect_contains "$out" "source:     $(git rev-parse HEAD) (main)"
	expect_contains "$out" "lr"
	expect_contains "$out" "0.93"
	expect_contains "$out" "from hf://ds"
	expect_contains "$out" "note: why not"
	expect_contains "$out" "Linux"
'
check "a run of xtrk run shows its command, where it ran, exit status, CPU time and peak memory" '
	mkdir -p sub
	xtrk run -q -e cmd -- sh -c "cd sub && echo ok" "it'"'"'s" "a b" >/dev/null 2>&1
	out=$(xtrk show cmd)
	expect_contains "$out" "command:    sh -c '"'"'cd sub && echo ok'"'"' '"'"'it'"'"'\'"'"''"'"'s'"'"' '"'"'a b'"'"'"
	expect_contains "$out" "            in ."
	expect_contains "$out" "status:     succeeded (exit 0)"
	echo "$out" | grep -Eq "^resources:  CPU [0-9.e-]+ s, peak memory [0-9.]+ (B|KiB|MiB|GiB)$"
	expect_not_contains "$out" "stderr"
	(cd sub && xtrk run -q -e cmd -- true >/dev/null 2>&1)
	expect_contains "$(xtrk show cmd)" "            in sub"
'
check "commit-run runs have no command or resources lines" '
	out=$(xtrk show $id)
	expect_not_contains "$out" "command:"
	expect_not_contains "$out" "resources:"
'
check "a failed run shows its last 10 stderr lines, escaped" '
	xtrk run -q -e bad -- sh -c "for i in \$(seq 1 25); do echo line\$i >&2; done; printf \"\\033[2Jboom\\r\\n\" >&2; exit 3" >/dev/null 2>&1 || true
	out=$(xtrk show bad)
	expect_contains "$out" "status:     failed (exit 3)"
	expect_contains "$out" "stderr (last lines"
	tail=$(echo "$out" | sed -n "/^stderr (last lines/,\$p" | tail -n +2)
	expect_eq "$(echo "$tail" | wc -l)" 10
	expect_eq "$(echo "$tail" | head -1)" "  line17"
	expect_eq "$(echo "$tail" | sed -n 9p)" "  line25"
	expect_eq "$(echo "$tail" | tail -1)" "  \\e[2Jboom\\r"
	expect_eq "$(printf "%s" "$out" | tr -d -c "\\033\\r" | wc -c)" 0
'
check "a failed run with a long stderr shows its end, a very long last line cut at its start" '
	xtrk run -q -e long -- sh -c "seq 1 200000 >&2; exit 1" >/dev/null 2>&1 || true
	out=$(xtrk show long)
	expect_eq "$(echo "$out" | tail -1)" "  200000"
	expect_eq "$(echo "$out" | sed -n "/^stderr (last lines/,\$p" | tail -n +2 | head -1)" "  199991"
	xtrk run -q -e long -- sh -c "head -c 300000 /dev/zero | tr \"\\\\0\" x >&2; echo END >&2; exit 1" >/dev/null 2>&1 || true
	last=$(xtrk show long | tail -1)
	expect_eq "$(echo "$last" | cut -c1-3)" "  x"
	case "$last" in *xEND) ;; *) echo "the last line does not end with END"; exit 1;; esac
	test ${#last} -le 70000
	test ${#last} -ge 60000
'
check "a command with control characters in its argv is shown escaped" '
	xtrk run -q -e esc -- sh -c "exit 0" "$(printf "\\033]0;pwned\\007")" >/dev/null 2>&1
	out=$(xtrk show esc)
	expect_contains "$out" "\\e]0;pwned\\a"
	expect_eq "$(printf "%s" "$out" | tr -d -c "\\033\\007" | wc -c)" 0
'
check "--json is one JSON document with the ID" '
	expect_eq "$(xtrk show --json best | json_get id)" "$id"
'
check "--json has every field of xtrk-format(5), with the recorded values" '
	xtrk show --json $id > r.json
	python3 - r.json <<-PY
	import json, sys
	r = json.load(open(sys.argv[1]))
	want = {"id", "tags", "format", "experiment", "message", "parent", "author", "started", "ended",
	        "duration_s", "status", "exit_code", "command", "source", "params", "params_files", "metrics",
	        "series", "seed", "datasets", "models", "artifacts", "env", "logs", "resources", "notes"}
	assert not want - set(r), "missing: %s" % sorted(want - set(r))
	assert r["format"] == 1 and r["experiment"] == "mnist" and r["message"] == "baseline run", r
	assert r["started"] <= r["ended"], (r["started"], r["ended"])
	assert r["params"] == {"lr": 0.1} and r["metrics"] == {"acc": 0.93}, r
	assert r["tags"] == ["best"] and r["notes"] == ["why not"], r
	assert [d["name"] for d in r["datasets"]] == ["train"] and r["datasets"][0]["source"] == "hf://ds", r
	assert [m["name"] for m in r["models"]] == ["m"] and r["artifacts"] == [], r
	PY
'
check "an unknown run is an error with a hint, exit 1" '
	err=$(xtrk show nosuchrun 2>&1 || true)
	expect_contains "$err" "xtrk: error: unknown run '"'"'nosuchrun'"'"'"
	expect_contains "$err" "xtrk log"
	expect_exit 1 xtrk show nosuchrun
'
check "show without a run is a usage error" '
	expect_exit 2 xtrk show
'
check "a damaged run object is reported, not shown" '
	f=.xtrk/objects/pack/$(ls .xtrk/objects/pack | grep pack$ | head -1)
	cp -p $f saved && chmod u+w $f
	python3 -c "
import sys
p=sys.argv[1]; b=bytearray(open(p,\"rb\").read())
i=b.find(b\"baseline run\")
if i < 0: sys.exit(0)   # stored compressed: covered by the fsck tests
b[i]^=1; open(p,\"wb\").write(bytes(b))" $f
	if cmp -s $f saved; then exit 0; fi
	err=$(xtrk show $id 2>&1 || true)
	cp saved $f
	expect_contains "$err" "corrupt"
'
finish
