#!/bin/sh
# xtrk audit: every tag, note, stage move, approval, rm, restore and gc appends an entry to a
# hash-chained log; concurrent writers each get theirs; an entry removed, altered or reordered
# (and entries cut from the end, an unfinished line, a damaged head) makes audit exit 3.
. "$(dirname "$0")/lib.sh"

mkdir ws && cd ws
new_ws
xtrk commit-run -e exp --metric acc=0.9 >/dev/null 2>&1
xtrk commit-run -e exp --metric acc=0.8 >/dev/null 2>&1
ONE=$(xtrk log -e exp --format json | json_get 1.id)
TWO=$(xtrk log -e exp --format json | json_get 0.id)
cd "$TRASH"
W="xtrk -C ws"

whats() { xtrk -C "${1:-ws}" audit --json | python3 -c 'import json,sys; print(" ".join(e["what"] for e in json.load(sys.stdin)))'; }

check "an empty store has an empty, intact log" '
	expect_eq "$($W audit --verify)" "audit log: 0 entries, chain intact"
	expect_eq "$($W audit)" ""
'

check "tag, tag -d, note, stage, approve, rm, restore and gc each append an entry (who, when, what)" '
	$W tag $ONE best >/dev/null
	$W tag -d best >/dev/null
	$W note $ONE -m "a note" >/dev/null
	$W stage $ONE staging >/dev/null
	if command -v ssh-keygen >/dev/null; then
		ssh-keygen -q -t ed25519 -N "" -f key
		$W approve $ONE --stage production --rationale ok --key "$TRASH/key" >/dev/null
	else
		$W stage $ONE production >/dev/null # keeps the count the same
	fi
	$W rm $TWO >/dev/null 2>&1
	$W rm --restore $TWO >/dev/null 2>&1
	echo unreferenced > junk && J=$($W hash-object -w junk)
	find ws/.xtrk/objects/pack ws/.xtrk/objects/[0-9a-f][0-9a-f] -type f -exec touch -d "3 weeks ago" {} + 2>/dev/null || true
	$W gc >/dev/null 2>&1
	w=$(whats)
	case "$w" in
	"tag tag-delete note stage approve rm restore gc" | "tag tag-delete note stage stage rm restore gc") ;;
	*) echo "got: $w"; false ;;
	esac
	$W audit --json > a.json
	expect_eq "$(json_get 0.who < a.json)" "Test User <test@example.com>"
	expect_eq "$(json_get 0.detail.tag < a.json)" best
	expect_eq "$(json_get 0.detail.run < a.json)" "$ONE"
	expect_eq "$(json_get 0.seq < a.json)" 1
	expect_eq "$(json_get 0.prev < a.json)" 00000000000000000000000000000000
	expect_eq "$(json_get 1.prev < a.json)" "$(json_get 0.hash < a.json)"
	expect_eq "$(json_get 7.detail.objects < a.json)" 1
	expect_contains "$($W audit)" "3 "
	expect_eq "$($W audit --verify)" "audit log: 8 entries, chain intact"
'

check "refused changes and a gc that removes nothing log nothing" '
	before=$(cat ws/.xtrk/audit)
	expect_exit 2 $W stage $ONE "../x"
	expect_exit 2 $W note $ONE -m ""
	$W tag $ONE best >/dev/null
	expect_exit 2 $W tag $TWO best
	$W tag -d best >/dev/null
	after_tag=$(cat ws/.xtrk/audit)
	$W gc --prune=now >/dev/null 2>&1
	$W gc --dry-run >/dev/null 2>&1
	expect_eq "$(cat ws/.xtrk/audit)" "$after_tag"
	expect_eq "$(($(wc -l < ws/.xtrk/audit) - $(echo "$before" | wc -l)))" 2
'

check "concurrent writers: twelve notes at once, twelve entries, one intact chain" '
	n0=$(wc -l < ws/.xtrk/audit)
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do $W note $ONE -m "n$i" >/dev/null & done
	wait
	expect_eq "$(($(wc -l < ws/.xtrk/audit) - n0))" 12
	$W audit --verify
'

# broken NAME PYTHON MESSAGE: a copy of the store with its log edited by PYTHON (lines in L, head
# text in H); audit and audit --verify exit 3 naming MESSAGE.
broken() {
	rm -rf "b-$1" && cp -a ws "b-$1"
	python3 - "b-$1/.xtrk/audit" "b-$1/.xtrk/audit.head" <<EOF
import sys
log, headf = sys.argv[1], sys.argv[2]
L = open(log).read().split("\n")[:-1]
H = open(headf).read()
$2
open(log, "w").write("".join(l + "\n" for l in L))
open(headf, "w").write(H)
EOF
	expect_exit 3 xtrk -C "b-$1" audit --verify
	xtrk -C "b-$1" audit --verify > out 2>&1 || true
	expect_contains "$(cat out)" "$3"
	expect_exit 3 xtrk -C "b-$1" audit
}

check "an entry removed from the middle" 'broken del "del L[3]" "broken at entry 4"'
check "the first entry removed" 'broken delfirst "del L[0]" "broken at entry 1"'
check "an entry altered (who)" 'broken who "L[2] = L[2].replace(\"Test User\", \"Someone Else\")" "broken at entry 4"'
check "an entry altered (what it says was done)" 'broken what "L[1] = L[1].replace(\"tag-delete\", \"tag\")" "broken at entry 3"'
check "an entry altered and its successor re-chained by hand (the head catches the last)" '
	broken rechain "
import json, subprocess
def h(s): return subprocess.run([\"xxhsum\", \"-H2\", \"-\"], input=s.encode(), capture_output=True).stdout.split()[0].decode()
e = json.loads(L[-1]); e[\"who\"] = \"Mallory\"
L[-1] = json.dumps(e, sort_keys=True, separators=(\",\", \":\"))" "altered after it was written"
'
check "two entries swapped" 'broken swap "L[2], L[3] = L[3], L[2]" "broken at entry 3"'
check "the last entries cut off" 'broken cut "L = L[:-2]" "entries were removed from its end"'
check "an unfinished last line" '
	rm -rf b-part && cp -a ws b-part
	printf "{\"detail\":{}" >> b-part/.xtrk/audit
	expect_exit 3 xtrk -C b-part audit --verify
	xtrk -C b-part audit --verify > out 2>&1 || true
	expect_contains "$(cat out)" ": it is unfinished (no newline)"
'
check "an entry added by hand after the head" 'broken extra "L.append(L[-1])" "broken at entry"'
check "a damaged head" 'broken head "H = \"garbage\"" "head"'
check "a log deleted while its head remains" 'broken gone "L = []" "entries were removed from its end"'
check "a line that is not JSON" 'broken notjson "L[0] = \"hello\"" "not a JSON object"'

finish
