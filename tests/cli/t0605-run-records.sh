#!/bin/sh
# xtrk run records what ran, whatever goes wrong afterwards: checks that can be made before the
# command are made before it (and the command is then not run); once it has run, the run is always
# recorded (failed, with every problem named); stale outputs are not attached; -p overrides -P and
# the program's own params override both, and the record says so.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
printf 'lr: 0.1\nepochs: 3\nopt:\n  name: sgd\n' > cfg.yaml
runs() { xtrk log --format json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }

# refused_up_front ARGS...: xtrk run ARGS -- (a command leaving a marker) exits 1 before running it.
refused_up_front() {
	n=$(runs)
	rm -f ran
	set +e; xtrk run "$@" -- sh -c "touch ran" > out 2> err; rc=$?; set -e
	expect_eq $rc 1
	test ! -e ran || { echo "the command ran: $*"; return 1; }
	expect_contains "$(cat err)" "the command was not run"
	expect_eq "$(runs)" "$n"
}

check "what can be refused before the command starts is refused then, and the command does not run" '
	echo "# a tweak" >> train.py
	git config -f .xtrk/config require.clean-source true
	refused_up_front -e t
	expect_contains "$(cat err)" "require.clean-source"
	git config -f .xtrk/config --unset require.clean-source
	git checkout -q train.py
	refused_up_front -e t -P missing.yaml
	refused_up_front -e t -d nodata
	expect_contains "$(cat err)" "dataset '"'"'nodata'"'"' does not exist"
	refused_up_front -e "not a name"
	refused_up_front -e t --parent nosuchrun
	refused_up_front -e t -p a=1 -p a=2
	expect_contains "$(cat err)" "given twice"
	git config -f .xtrk/config require.experiment-name "exp-.*"
	refused_up_front -e t
	git config -f .xtrk/config --unset require.experiment-name
	xtrk run -e t --tag taken -- true 2>/dev/null
	refused_up_front -e t --tag taken
'

check "-p overrides a key read from -P; the record names each override" '
	xtrk run -e ov -P cfg.yaml -p lr=0.05 -p opt.name=adam -- true 2>err
	j=$(xtrk show --json ov)
	expect_eq "$(echo "$j" | json_get params.lr)" 0.05
	expect_eq "$(echo "$j" | json_get params.epochs)" 3
	expect_eq "$(echo "$j" | json_get params.opt.name)" adam
	expect_eq "$(echo "$j" | json_get params_overridden.lr.was)" 0.1
	expect_eq "$(echo "$j" | json_get params_overridden.lr.from)" cfg.yaml
	expect_eq "$(echo "$j" | json_get params_overridden.lr.by)" -p
	expect_eq "$(echo "$j" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"params_overridden\"][\"opt.name\"][\"was\"])")" sgd
	expect_eq "$(echo "$j" | json_get status)" succeeded
	expect_contains "$(xtrk show ov)" "(lr overrides 0.1 from cfg.yaml, by -p)"
'

check "commit-run takes -P with -p overrides too; an equal value is no override" '
	id=$(xtrk commit-run -e ov2 -P cfg.yaml -p epochs=3 -p lr=0.2)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get params.lr)" 0.2
	expect_eq "$(echo "$j" | python3 -c "import json,sys; print(sorted(json.load(sys.stdin)[\"params_overridden\"]))")" "['"'"'lr'"'"']"
'

check "params the program logs override -p and -P" '
	xtrk run -e ov3 -P cfg.yaml -p lr=0.05 -- sh -c "echo \"{\\\"lr\\\": 0.07, \\\"epochs\\\": 9}\" > \$XTRK_RUN_DIR/params.json" 2>err
	j=$(xtrk show --json ov3)
	expect_eq "$(echo "$j" | json_get params.lr)" 0.07
	expect_eq "$(echo "$j" | json_get params.epochs)" 9
	expect_eq "$(echo "$j" | json_get params_overridden.lr.by)" "the program"
	expect_eq "$(echo "$j" | json_get params_overridden.lr.was)" 0.05
	expect_eq "$(echo "$j" | json_get params_overridden.epochs.from)" cfg.yaml
'

check "a key given twice in two -P files stays an error" '
	printf "lr: 0.3\n" > other.yaml
	expect_exit 1 xtrk commit-run -e dup -P cfg.yaml -P other.yaml 2>err
	expect_contains "$(cat err)" "given twice"
'

check "a missing output after the command ran: the run is recorded as failed, with its logs and metrics" '
	set +e
	xtrk run -e lost --model nothere.pt -- sh -c "echo trained; echo \"{\\\"acc\\\": 0.9}\" > \$XTRK_RUN_DIR/metrics.json" > out 2> err
	rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat err)" "recorded run"
	j=$(xtrk show --json lost)
	expect_eq "$(echo "$j" | json_get status)" failed
	expect_eq "$(echo "$j" | json_get exit_code)" 0
	expect_contains "$(echo "$j" | json_get error)" "model '"'"'nothere.pt'"'"' does not exist"
	expect_eq "$(echo "$j" | json_get metrics.acc)" 0.9
	expect_eq "$(xtrk cat-object $(echo "$j" | json_get logs.stdout))" trained
	expect_eq "$(echo "$j" | json_get models)" "[]"
	expect_contains "$(xtrk show lost)" "error:      model '"'"'nothere.pt'"'"' does not exist"
'

check "every problem is named, and a failing command keeps its own exit status" '
	echo "{broken" > bad.json
	git config -f .xtrk/config require.params seed
	set +e
	xtrk run -e many --model gone.pt -M bad.json --tag taken2 -- sh -c "touch bad.json; exit 4" > out 2> err
	rc=$?; set -e
	git config -f .xtrk/config --unset require.params
	expect_eq $rc 4
	e=$(xtrk show --json many | json_get error)
	expect_contains "$e" "gone.pt"
	expect_contains "$e" "bad.json"
	expect_contains "$e" "require.params"
	expect_eq "$(xtrk show --json many | json_get status)" failed
'

check "a rule the program satisfies by logging its params is met" '
	git config -f .xtrk/config require.params seed
	xtrk run -e logged -- sh -c "echo \"{\\\"seed\\\": 5}\" > \$XTRK_RUN_DIR/params.json" 2>err
	git config -f .xtrk/config --unset require.params
	expect_eq "$(xtrk show --json logged | json_get status)" succeeded
	expect_eq "$(xtrk show --json logged | json_get seed)" 5
'

check "outputs older than the command are not attached: named in a warning and in the record" '
	echo old > model.pt && echo "{\"acc\": 0.1}" > metrics.json && mkdir -p plots && echo old > plots/a.png
	touch -d "2020-01-01" model.pt metrics.json plots plots/a.png
	set +e
	xtrk run -e stale --model model.pt -M metrics.json --artifact plots -- sh -c "exit 2" > out 2> err
	rc=$?; set -e
	expect_eq $rc 2
	expect_contains "$(cat err)" "model '"'"'model.pt'"'"' was not written by the command"
	expect_contains "$(cat err)" "metrics file '"'"'metrics.json'"'"' was not written by the command"
	j=$(xtrk show --json stale)
	expect_eq "$(echo "$j" | json_get models)" "[]"
	expect_eq "$(echo "$j" | json_get artifacts)" "[]"
	expect_eq "$(echo "$j" | json_get metrics)" "{}"
	expect_eq "$(echo "$j" | json_get outputs_not_attached | tr -d " \n")" "[\"metrics.json\",\"model.pt\",\"plots\"]"
	expect_contains "$(xtrk show stale)" "not attached (older than the command): metrics.json model.pt plots"
'

check "outputs the command wrote are attached (a folder counts as written when a file in it is)" '
	touch -d "2020-01-01" plots plots/a.png
	xtrk run -e fresh --model model.pt -M metrics.json --artifact plots -- sh -c "echo new > model.pt; echo \"{\\\"acc\\\": 0.7}\" > metrics.json; echo new > plots/b.png; touch -d 2020-01-01 plots" 2>err
	j=$(xtrk show --json fresh)
	expect_eq "$(echo "$j" | json_get models.0.id)" "$(xxhsum -H2 model.pt | cut -d" " -f1)"
	expect_eq "$(echo "$j" | json_get metrics.acc)" 0.7
	expect_eq "$(echo "$j" | json_get artifacts.0.files)" 2
	expect_eq "$(echo "$j" | json_get status)" succeeded
	expect_not_contains "$j" outputs_not_attached
'

check "commit-run still refuses bad input and writes nothing" '
	before=$(store_listing)
	expect_exit 1 xtrk commit-run -e cr --model nothere.pt 2>err
	expect_contains "$(cat err)" "nothere.pt"
	expect_eq "$(store_listing)" "$before"
'

check "a script run from outside the repository is stored, and checkout -C writes it back" '
	out_dir=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-outside.XXXXXX")
	printf "import sys\nprint(\"outside\")\n" > "$out_dir/sweep.py"
	xtrk run -e outside -- python3 "$out_dir/sweep.py" > out 2>err
	expect_eq "$(cat out)" outside
	j=$(xtrk show --json outside)
	expect_eq "$(echo "$j" | json_get source.scripts.0.path)" "$(realpath "$out_dir")/sweep.py"
	expect_eq "$(echo "$j" | json_get source.scripts.0.id)" "$(xxhsum -H2 "$out_dir/sweep.py" | cut -d" " -f1)"
	expect_contains "$(xtrk show outside)" "script from outside the repository: $(realpath "$out_dir")/sweep.py"
	cp "$out_dir/sweep.py" want-sweep.py
	rm -r "$out_dir"
	xtrk fsck --read-data -q
	xtrk checkout outside -C "$TRASH/restored-outside" 2>err
	cmp "$TRASH/restored-outside/sweep.py" want-sweep.py
	expect_contains "$(cat err)" "scripts from outside the repository: 1 written"
	xtrk bundle create -o outside.tar outside 2>/dev/null
	mkdir "$TRASH/colleague" && (cd "$TRASH/colleague" && new_ws && xtrk bundle import ../outside.tar 2>/dev/null &&
		xtrk checkout outside -C got --no-data 2>/dev/null && cmp got/sweep.py ../want-sweep.py)
	xtrk checkout --force outside 2>err
	expect_contains "$(cat err)" "no longer there as it was"
	rm want-sweep.py
'

check "a script inside the repository, inline code and a program on PATH store no script" '
	xtrk run -e inside -- python3 train.py >/dev/null 2>&1
	xtrk run -e inline -- python3 -c "print(1)" >/dev/null 2>&1
	xtrk run -e onpath -- true >/dev/null 2>&1
	for e in inside inline onpath; do expect_not_contains "$(xtrk show --json $e)" "\"scripts\""; done
'

xtrk fsck -q
finish
