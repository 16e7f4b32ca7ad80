#!/bin/sh
# What a program that records its own runs (the Python binding) tells commit-run and `xtrk run`:
# --python, --error, --command-json and --check, and $XTRK_RUN_DIR/run.json.
. "$(dirname "$0")/lib.sh"

new_ws
git config -f .xtrk/config capture.python true
mkdir -p bin sub
# Interpreters that answer the probe with their version and the path they were started by.
fake_python() {
	cat > "$1" <<-EOS
	#!/bin/sh
	echo "{\"version\": \"$2\", \"executable\": \"\$0\", \"packages\": {\"$2\": \"1.0\"}, \"paths\": []}"
	EOS
	chmod +x "$1"
}
fake_python bin/python3 on-path
fake_python given given
# xtrk with the fake python3 first on PATH (the helpers need the real one).
xtrk() { PATH=$TRASH/bin:$PATH "$XTRK_BIN" "$@"; }

check "--python records that interpreter, not python3 on PATH" '
	j=$(xtrk show --json $(xtrk commit-run -q --python ./given))
	expect_eq "$(echo "$j" | json_get env.python.version)" given
	expect_eq "$(echo "$j" | json_get env.python.executable)" ./given
	expect_eq "$(xtrk show --json $(xtrk commit-run -q) | json_get env.python.version)" on-path
'
check "two paths to one interpreter (a venv and its base) are not mixed up by the cache" '
	ln -s given linked
	j=$(xtrk show --json $(xtrk commit-run -q --python "$PWD/given"))
	expect_eq "$(echo "$j" | json_get env.python.executable)" "$PWD/given"
	j=$(xtrk show --json $(xtrk commit-run -q --python "$PWD/linked"))
	expect_eq "$(echo "$j" | json_get env.python.executable)" "$PWD/linked"
'
check "--python naming no program is a usage error; nothing is written" '
	before=$(store_listing)
	expect_exit 2 xtrk commit-run --python ./no-such-python
	expect_eq "$(store_listing)" "$before"
'
check "xtrk run --python records that interpreter" '
	xtrk run -q -e runpy --python ./given -- true
	expect_eq "$(xtrk show --json runpy | json_get env.python.version)" given
'
check "--error with --failed is recorded as the run's error" '
	id=$(xtrk commit-run -q --failed --error "ZeroDivisionError: division by zero")
	expect_eq "$(xtrk show --json $id | json_get status)" failed
	expect_eq "$(xtrk show --json $id | json_get error)" "ZeroDivisionError: division by zero"
'
check "--error without --failed is a usage error" '
	before=$(store_listing)
	err=$(expect_exit 2 xtrk commit-run --error boom 2>&1)
	expect_contains "$err" "--failed"
	expect_eq "$(store_listing)" "$before"
'
check "--command-json is recorded, its folder relative to the workspace" '
	id=$(xtrk commit-run -q --command-json "{\"argv\": [\"/usr/bin/python3\", \"train.py\", \"--lr\", \"0.1\"], \"cwd\": \"$PWD/sub\"}")
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get command.argv)" "[\"/usr/bin/python3\", \"train.py\", \"--lr\", \"0.1\"]"
	expect_eq "$(echo "$j" | json_get command.cwd)" sub
	expect_eq "$(echo "$j" | json_get exit_code)" null
'
check "--command-json without cwd: the current folder; outside the workspace: kept absolute" '
	expect_eq "$(xtrk show --json $(cd sub && xtrk commit-run -q --command-json "{\"argv\": [\"x\"]}") | json_get command.cwd)" sub
	expect_eq "$(xtrk show --json $(xtrk commit-run -q --command-json "{\"argv\": [\"x\"], \"cwd\": \"/\"}") | json_get command.cwd)" /
'
check "a malformed --command-json is a usage error; nothing is written" '
	before=$(store_listing)
	for bad in "{" "[]" "{}" "{\"argv\": []}" "{\"argv\": [1]}" "{\"argv\": \"x\"}" \
	    "{\"argv\": [\"x\"], \"cwd\": 3}" "{\"argv\": [\"x\"], \"env\": {}}"; do
		expect_exit 2 xtrk commit-run --command-json "$bad" 2>/dev/null
	done
	expect_eq "$(store_listing)" "$before"
'
check "--check: 0 in a workspace and nothing written; 1 outside one or for a bad experiment name" '
	before=$(store_listing)
	expect_eq "$(xtrk commit-run --check -e fine)" ""
	expect_eq "$(store_listing)" "$before"
	elsewhere=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-nostore.XXXXXX")
	err=$(cd "$elsewhere" && expect_exit 1 xtrk commit-run --check 2>&1) || { rmdir "$elsewhere"; exit 1; }
	rmdir "$elsewhere"
	expect_contains "$err" "xtrk init"
	err=$(expect_exit 1 xtrk commit-run --check -e "../bad name" 2>&1)
	expect_contains "$err" "not a valid experiment name"
'
check "xtrk run refuses the options of commit-run alone" '
	before=$(store_listing)
	expect_exit 2 xtrk run --failed --error boom -- true 2>/dev/null
	expect_exit 2 xtrk run --command-json "{\"argv\": [\"x\"]}" -- true 2>/dev/null
	expect_exit 2 xtrk run --check -- true 2>/dev/null
	expect_eq "$(store_listing)" "$before"
'
check "the help lists the new options, and run's only --python" '
	h=$(xtrk commit-run --help)
	for o in --python --error --command-json --check; do expect_contains "$h" "$o"; done
	h=$(xtrk run --help)
	expect_contains "$h" --python
	expect_not_contains "$h" --command-json
'
cat > declare.sh <<'EOS'
#!/bin/sh
printf '%s\n' "$1" > "$XTRK_RUN_DIR/run.json"
EOS
chmod +x declare.sh
check "xtrk run: experiment, message and seed from run.json, unless options gave them" '
	xtrk run -q -- ./declare.sh "{\"experiment\": \"declared\", \"message\": \"from the script\", \"seed\": 5}"
	j=$(xtrk show --json declared)
	expect_eq "$(echo "$j" | json_get message)" "from the script"
	expect_eq "$(echo "$j" | json_get seed)" 5
	xtrk run -q -e given-e -m given-m --seed 1 -- ./declare.sh "{\"experiment\": \"declared\", \"message\": \"x\", \"seed\": 5}"
	j=$(xtrk show --json given-e)
	expect_eq "$(echo "$j" | json_get message)" given-m
	expect_eq "$(echo "$j" | json_get seed)" 1
	expect_eq "$(xtrk log -e declared --format csv --columns id | tail -n +2 | wc -l)" 1
'
check "xtrk run: a failure declared in run.json fails the run, with its error" '
	xtrk run -q -e declared-fail -- ./declare.sh "{\"failed\": true, \"error\": \"ValueError: boom\"}"
	j=$(xtrk show --json declared-fail)
	expect_eq "$(echo "$j" | json_get status)" failed
	expect_eq "$(echo "$j" | json_get exit_code)" 0
	expect_eq "$(echo "$j" | json_get error)" "ValueError: boom"
'
check "xtrk run: an invalid experiment in run.json is ignored with a warning; the run is kept" '
	err=$(xtrk run -- ./declare.sh "{\"experiment\": \"../bad name\"}" 2>&1)
	expect_contains "$err" "ignoring the experiment"
	expect_contains "$err" "recorded run"
'
finish
