#!/bin/sh
# What a program that records its own runs (the Python binding) tells commit-run and `xtrk run`:
# --python.
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
check "the help of both commands lists --python" '
	h=$(xtrk commit-run --help)
	for o in --python; do expect_contains "$h" "$o"; done
	h=$(xtrk run --help)
	expect_contains "$h" --python
'
finish
