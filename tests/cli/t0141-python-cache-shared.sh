#!/bin/sh
# The Python answer (version and packages) is shared by the user's stores: a new store does not ask
# the same, unchanged Python again; a changed package folder, another interpreter or another
# PYTHONPATH asks again; a damaged or foreign shared answer is not used.
. "$(dirname "$0")/lib.sh"

mkdir -p pybin site otherbin
cat > pybin/python3 <<EOS
#!/bin/sh
echo run >> "$TRASH/probe-calls"
echo "{\"version\": \"3.99.0\", \"packages\": {\"torch\": \"9.9\"}, \"paths\": [\"$TRASH/site\"]}"
EOS
cat > otherbin/python3 <<EOS
#!/bin/sh
echo other >> "$TRASH/probe-calls"
echo "{\"version\": \"3.98.0\", \"packages\": {\"jax\": \"1.0\"}, \"paths\": [\"$TRASH/site\"]}"
EOS
chmod +x pybin/python3 otherbin/python3
REALPY=$(command -v python3)
calls() { wc -l < "$TRASH/probe-calls"; }
# A new store in a new folder, one run there; prints the run's Python packages.
fresh_run() {
	d=$(mktemp -d "$TRASH/ws.XXXXXX") && cd "$d" && xtrk init -q
	git config -f .xtrk/config capture.python true
	id=$(xtrk commit-run 2>/dev/null)
	xtrk show --json "$id" | "$REALPY" -c "import json,sys; print(\",\".join(sorted(json.load(sys.stdin)[\"env\"][\"python\"][\"packages\"])))"
}

check "a second store asks no Python: the answer of the first holds" '
	export PATH=$TRASH/pybin:$PATH
	: > "$TRASH/probe-calls"
	expect_eq "$(fresh_run)" torch
	expect_eq "$(calls)" 1
	expect_eq "$(fresh_run)" torch
	expect_eq "$(fresh_run)" torch
	expect_eq "$(calls)" 1
	ls "$HOME"/.cache/xtrk/python-*.json >/dev/null
'
check "a package folder changed since: the next new store asks again" '
	export PATH=$TRASH/pybin:$PATH
	: > "$TRASH/probe-calls"
	fresh_run >/dev/null
	expect_eq "$(calls)" 0
	sleep 0.01 && mkdir "$TRASH/site/newpkg-1.0.dist-info"
	fresh_run >/dev/null
	expect_eq "$(calls)" 1
'
check "another interpreter, or another PYTHONPATH, is asked itself" '
	: > "$TRASH/probe-calls"
	expect_eq "$(PATH=$TRASH/otherbin:$PATH fresh_run)" jax
	expect_eq "$(cat "$TRASH/probe-calls")" other
	: > "$TRASH/probe-calls"
	expect_eq "$(PATH=$TRASH/pybin:$PATH PYTHONPATH=/nowhere fresh_run)" torch
	expect_eq "$(calls)" 1
'
check "a damaged shared answer, or one recorded for another interpreter, is not used" '
	export PATH=$TRASH/pybin:$PATH
	for f in "$HOME"/.cache/xtrk/python-*.json; do printf "{not json" > "$f"; done
	: > "$TRASH/probe-calls"
	expect_eq "$(fresh_run)" torch
	expect_eq "$(calls)" 1
	# The other interpreter answer put in place of this one: its key names the other, so it is asked again.
	PATH=$TRASH/otherbin:$PATH fresh_run >/dev/null
	other=$(grep -l 3.98.0 "$HOME"/.cache/xtrk/python-*.json)
	for f in "$HOME"/.cache/xtrk/python-*.json; do [ "$f" = "$other" ] || cp "$other" "$f"; done
	: > "$TRASH/probe-calls"
	expect_eq "$(fresh_run)" torch
	expect_eq "$(calls)" 1
	# The right key with an answer that is not one (a forged file): asked again.
	f=$(grep -l 3.99.0 "$HOME"/.cache/xtrk/python-*.json)
	"$REALPY" -c "import json,sys; d=json.load(open(sys.argv[1])); d[\"result\"]=\"forged\"; d[\"key\"][\"paths\"]={}; json.dump(d, open(sys.argv[1], \"w\"))" "$f"
	: > "$TRASH/probe-calls"
	expect_eq "$(fresh_run)" torch
	expect_eq "$(calls)" 1
'
check "XDG_CACHE_HOME is where the shared answer goes when it is set; no home at all still records" '
	export PATH=$TRASH/pybin:$PATH
	export XDG_CACHE_HOME=$TRASH/xdg
	: > "$TRASH/probe-calls"
	fresh_run >/dev/null
	ls "$XDG_CACHE_HOME"/xtrk/python-*.json >/dev/null
	expect_eq "$(fresh_run)" torch
	expect_eq "$(calls)" 1
	unset XDG_CACHE_HOME
	expect_eq "$(HOME= fresh_run)" torch
'
finish
