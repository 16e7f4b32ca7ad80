#!/bin/sh
# Text from runs never reaches the terminal raw: control characters (ESC sequences such as OSC 52
# clipboard writes and screen clears, CR, LF, DEL), C1 controls, bidirectional overrides and bytes
# that are not UTF-8, in any field, are shown escaped by every human command, one run per line.
. "$(dirname "$0")/lib.sh"

T=$TRASH/tools
mkdir -p "$T" ws
cd ws
new_ws

# The raw bytes no human output may hold: C0 but tab and newline, DEL, C1 (as UTF-8 or as a lone
# byte), the bidirectional controls.
cat > "$T/raw.py" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
bad = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]|\xd8\x9c")
text = data.decode("utf-8", "replace")
found = bad.search(data)
if found or "\ufffd" in text:
    print("raw control bytes in %s: %r" % (sys.argv[1], data[max(0, (found.start() if found else 0) - 20):][:80]))
    sys.exit(1)
PY
clean() { python3 "$T/raw.py" "$1"; }

E=$(printf '\033'); BEL=$(printf '\007'); CR=$(printf '\r'); NL='
'
RLO=$(printf '\342\200\256'); LRI=$(printf '\342\201\246'); C1=$(printf '\302\233'); RAW9B=$(printf '\233')
DEL=$(printf '\177')
OSC52="${E}]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==${BEL}"
CLEAR="${E}[2J${E}[H"
FORGE="${NL}0123456789ab  default           2026-01-01 00:00:00  succeeded  acc=1.0  forged row"

check "runs with hostile text in message, params, metrics, notes and dataset names are recorded" '
	mkdir "d${E}[2Jx"
	echo 1 > "d${E}[2Jx/f${OSC52}.csv"
	echo 2 > "nl${NL}forged.csv"
	echo 3 > "cr${CR}del${DEL}.csv"
	xtrk commit-run -q -m "msg ${OSC52} ${CLEAR}${CR}CR${FORGE} ${RLO}evil${LRI}${C1}31m" \
		-p "k${E}[31m=v${E}[0m" -p "nl=a${NL}b" -p "bidi=${RLO}gnp.exe" --metric "acc${E}[5m=0.5" \
		-d "d${E}[2Jx" -d "nl${NL}forged.csv" -d "cr${CR}del${DEL}.csv" --note "note${CLEAR}" > "$T/a"
	echo 4 >> "d${E}[2Jx/f${OSC52}.csv"
	echo 5 > "d${E}[2Jx/new${E}[1m.csv"
	xtrk commit-run -q -m "second${NL}line" -p "k${E}[31m=w${E}[0m" -d "d${E}[2Jx" > "$T/b"
	echo 6 >> "d${E}[2Jx/f${OSC52}.csv"
	test -s "$T/a" && test -s "$T/b"
'

# Every human command on the store: no raw control byte, and log keeps one line per run.
human_outputs_clean() {
	a=$(cat "$T/a"); b=$(cat "$T/b")
	n=$(xtrk log --format csv --columns id | tail -n +2 | wc -l)
	xtrk log > "$T/log.out"
	clean "$T/log.out"
	expect_eq "$(wc -l < "$T/log.out")" $((n + 1))
	expect_not_contains "$(cat "$T/log.out")" "forged row${NL}"
	xtrk log --columns id,experiment,message,params,metrics,tags,parent,author > "$T/logc.out"
	clean "$T/logc.out"
	expect_eq "$(wc -l < "$T/logc.out")" $((n + 1))
	for id in $(xtrk log --format csv --columns id | tail -n +2); do
		xtrk show $id > "$T/show.out"
		clean "$T/show.out"
		expect_eq "$(grep -c "^message:" "$T/show.out" || true)" "$(grep -c "^message:" "$T/show.out")"
		xtrk lineage $id > "$T/lin.out"
		clean "$T/lin.out"
		xtrk lineage --format dot $id > "$T/dot.out"
		clean "$T/dot.out"
	done
	xtrk diff $a $b > "$T/diff.out" || test $? = 3
	clean "$T/diff.out"
	xtrk status > "$T/status.out" 2>&1 || :
	clean "$T/status.out"
	xtrk status --all > "$T/status.out" 2>&1 || :
	clean "$T/status.out"
	xtrk fsck > "$T/fsck.out" 2>&1
	clean "$T/fsck.out"
}

check "a message, error or note that is not UTF-8 is refused, not left out of the record" '
	for opt in -m --note; do
		expect_exit 1 xtrk commit-run -q $opt "bad${RAW9B}byte" 2> "$T/err.out"
		expect_contains "$(cat "$T/err.out")" "not valid UTF-8"
	done
	expect_exit 1 xtrk commit-run -q --failed --error "bad${RAW9B}byte" 2> "$T/err.out"
	expect_eq "$(xtrk log --format csv --columns id | tail -n +2 | wc -l)" 2
'

check "log, show, diff, status, lineage and fsck print it escaped, one run per line" '
	human_outputs_clean
	xtrk show $(cat "$T/a") > "$T/show.out"
	expect_contains "$(cat "$T/show.out")" "msg \\e]52;c;"
	expect_contains "$(cat "$T/show.out")" "\\u202eevil"
	expect_contains "$(cat "$T/show.out")" "\\u009b31m"
	expect_contains "$(cat "$T/show.out")" "nl\\nforged.csv"
	expect_eq "$(grep -c "^message:" "$T/show.out")" 1
	xtrk diff $(cat "$T/a") $(cat "$T/b") > "$T/diff.out" || :
	expect_contains "$(cat "$T/diff.out")" "new\\e[1m.csv"
	xtrk status --all > "$T/status.out" 2>&1 || :
	expect_contains "$(cat "$T/status.out")" "f\\e]52;c;"
'

check "JSON and CSV keep the text exact (escaped by their own rules)" '
	j=$(xtrk show --json $(cat "$T/a"))
	expect_contains "$j" "\\u001B]52;c;"
	python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert \"\\x1b[2J\" in r[\"message\"]" /dev/stdin <<< "$j"
	xtrk export --format csv > "$T/csv.out"
	python3 -c "
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline=\"\")))
n = len(rows) - 1
assert n == 2, n
msgs = [r[rows[0].index(\"message\")] for r in rows[1:]]
assert any(\"forged row\" in m and \"\\x1b]52\" in m for m in msgs), msgs
" "$T/csv.out"
'

check "error and warning messages that quote record text are escaped" '
	xtrk checkout "$(printf "no${E}[2Jsuch")" > "$T/err.out" 2>&1 && exit 1
	clean "$T/err.out"
	xtrk log --where "message ~ \"${E}[2J" > "$T/err.out" 2>&1 || :
	clean "$T/err.out"
	xtrk log -e "$(printf "x${E}]52;c;QQ==${BEL}")" > "$T/err.out" 2>&1 || :
	clean "$T/err.out"
'

# A bundle made elsewhere can carry anything in any field, where commit-run refuses it.
check "a crafted bundle with hostile experiment, author, parent, error and variables is shown escaped" '
	mkdir "$T/src"
	(cd "$T/src" && xtrk init -q . && git config -f .xtrk/config capture.python false &&
		echo x > data.csv && xtrk commit-run -q -m plain -d data.csv --failed --error boom > /dev/null && xtrk bundle create -o ../good.tar -e default) > /dev/null
	test -s "$T/good.tar"
	# One bundle per hostile field: whether import takes it (then every reader shows it escaped)
	# or refuses it (then the refusal quotes it escaped), nothing reaches the terminal raw.
	imported=0
	for field in "\"experiment\": \"exp${OSC52}\"" "\"author\": \"me${CLEAR} <a@b>\"" \
		"\"parent\": \"${E}[2Jnot-an-id${NL}status: forged\"" "\"error\": \"err${CR}${RLO}x\"" \
		"\"message\": \"bundled${FORGE}${C1}\"" "\"status\": \"failed${E}[8m\"" \
		"\"notes\": [\"n${OSC52}\"]" "\"params\": {\"p${E}[1m\": \"v${DEL}\"}" \
		"\"metrics\": {\"m${NL}forged\": 1}" "\"started\": \"2026${CLEAR}\"" \
		"\"env\": {\"host\": \"h${OSC52}\", \"vars\": {\"X${E}[2J\": \"${RLO}v\"}}" \
		"\"source\": {\"commit\": \"${E}[2J\", \"branch\": \"b${CR}\", \"remotes\": {\"o\": \"${OSC52}\"}}" \
		"\"parent\": \"$(cat "$T/a")\", \"message\": \"bundled2${NL}x\""; do
		python3 "$XTRK_TEST_SRCDIR/tests/helpers/mkbundle.py" "$T/good.tar" run-set "$T/evil.tar" "{$field}"
		xtrk bundle verify "$T/evil.tar" > "$T/verify.out" 2>&1 || :
		clean "$T/verify.out"
		if xtrk bundle import "$T/evil.tar" > "$T/import.out" 2>&1; then
			imported=$((imported + 1))
		fi
		clean "$T/import.out"
		human_outputs_clean
	done
	echo "bundles imported: $imported"
	test $imported -ge 1
	for id in $(xtrk log --format csv --columns id | tail -n +2); do
		xtrk show $id > "$T/show.out"
		expect_eq "$(grep -c "^status:" "$T/show.out")" 1
		expect_eq "$(grep -c "^message:" "$T/show.out" || true)" "$(xtrk show --json $id | python3 -c "import json,sys; print(1 if json.load(sys.stdin)[\"message\"] else 0)")"
		if grep "^parent:" "$T/show.out" > /dev/null && grep "not-an-id" "$T/show.out" > /dev/null; then
			expect_contains "$(cat "$T/show.out")" "parent:     (not a run ID: \\e[2Jnot-an-id\\nstatus: forged)"
		fi
	done
'

finish
