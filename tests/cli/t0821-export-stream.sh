#!/bin/sh
# export --format json and log --format json write each record as it is read (memory of one
# record, whatever the number of runs), and the text is byte for byte the array of what
# 'show --json' prints for each run.
. "$(dirname "$0")/lib.sh"

new_ws
mkdir data && printf 'a\n' > data/a
xtrk commit-run -e a -p lr=0.1 -p 'net={"layers": [], "opts": {}}' --metric acc=0.8 -d train=data \
	-m "two
lines, a tab	and é" --note "why:
because" >/dev/null
xtrk commit-run -e a -p lr=0.01 --metric acc=0.9 --tag best --tag other >/dev/null
xtrk commit-run -e b -p 'empty=""' -p 'q="say \"hi\""' >/dev/null
first=$(xtrk log -e b --format csv --columns id | sed -n 2p)
xtrk note "$first" "appended
note" >/dev/null 2>&1 || true
# The array, built from show --json of each run in listing order: every line of each record indented two spaces.
expected() {
	xtrk log "$@" --format csv --columns id | sed 1d > ids
	python3 - <<'EOF'
import subprocess
ids = open("ids").read().split()
parts = []
for i in ids:
    t = subprocess.run(["xtrk", "show", i, "--json"], capture_output=True, check=True, text=True).stdout
    parts.append("  " + t.rstrip("\n").replace("\n", "\n  "))
print("[\n" + ",\n".join(parts) + "\n]" if parts else "[]")
EOF
}

check "export and log --format json are the arrays of show --json's records, byte for byte" '
	PATH=$(dirname "$XTRK_BIN"):$PATH
	expected > want.json
	xtrk export > got.json
	cmp want.json got.json
	xtrk log --format json > got.json
	cmp want.json got.json
	expected --where "params.lr < 0.05" > want.json
	xtrk export --where "params.lr < 0.05" > got.json
	cmp want.json got.json
	expect_contains "$(cat got.json)" "\"best\""
'
check "no run: an empty array" '
	expect_eq "$(xtrk export --where "params.lr > 5")" "[]"
	expect_eq "$(xtrk log --format json -n 0)" "[]"
'
finish
