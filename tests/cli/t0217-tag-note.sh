#!/bin/sh
# xtrk tag (after the fact, -f, -d, -l, --json) and xtrk note (append-only notes): behaviour,
# refused input that changes nothing, damaged stores, and notes travelling by bundle, push and pull.
. "$(dirname "$0")/lib.sh"

mkdir ws && cd ws
new_ws
xtrk commit-run -e exp -m one --note "recorded note" >/dev/null 2>&1
xtrk commit-run -e exp -m two >/dev/null 2>&1
xtrk commit-run -e other -m three >/dev/null 2>&1
ONE=$(xtrk log -e exp --format json | json_get 1.id)
TWO=$(xtrk log -e exp --format json | json_get 0.id)
THREE=$(xtrk log -e other --format json | json_get 0.id)
cd "$TRASH"
W="xtrk -C ws"

# unchanged CMD...: CMD exits 2 and the store is byte-identical afterwards.
unchanged() {
	before=$(store_listing ws)
	expect_exit 2 "$@"
	expect_eq "$(store_listing ws)" "$before"
}

# ---- xtrk tag ----

check "tag RUN NAME names the run after the fact: show, log --columns tags, queries" '
	$W tag exp~1 baseline > out
	expect_contains "$(cat out)" "tagged run ${ONE:0:12} as '\''baseline'\''"
	expect_eq "$(cat ws/.xtrk/refs/tags/baseline)" "$ONE"
	expect_eq "$($W show --json baseline | json_get id)" "$ONE"
	expect_contains "$($W log --columns id,tags)" "${ONE:0:12}  baseline"
	expect_eq "$($W log --where "tags.0 == \"baseline\"" --format json | json_get 0.id)" "$ONE"
'

check "tag lists tags with the short ID and experiment; -l PATTERN is a glob; --json" '
	$W tag other release-1
	expect_eq "$($W tag)" "baseline  ${ONE:0:12}  exp
release-1  ${THREE:0:12}  other"
	expect_eq "$($W tag -l "rel*")" "release-1  ${THREE:0:12}  other"
	expect_eq "$($W tag -l "nomatch*")" ""
	$W tag -l "b*" --json > j
	expect_eq "$(json_get 0.name < j)" baseline
	expect_eq "$(json_get 0.run < j)" "$ONE"
	expect_eq "$(json_get 0.experiment < j)" exp
	expect_eq "$(json_get 0.state < j)" listed
'

check "an existing tag is refused (exit 2, nothing changes), even on the same run; -f moves it" '
	unchanged $W tag exp baseline
	expect_contains "$($W tag exp baseline 2>&1 || true)" "tag '\''baseline'\'' already exists (naming run $ONE); -f moves it"
	unchanged $W tag exp~1 baseline
	$W tag -f exp baseline >/dev/null
	expect_eq "$(cat ws/.xtrk/refs/tags/baseline)" "$TWO"
	$W tag -f exp~1 baseline >/dev/null
	expect_eq "$(cat ws/.xtrk/refs/tags/baseline)" "$ONE"
'

check "invalid and ambiguous names are refused with exit 2 and write nothing" '
	for name in abcd 0123456789abcdef "$ONE" .hidden a..b x.lock "a/b" "sp ace" "$(printf "e\033[31m")" exp other; do
		unchanged $W tag exp "$name"
	done
	expect_contains "$($W tag exp abcd 2>&1 || true)" "looks like a run ID"
	expect_contains "$($W tag exp exp 2>&1 || true)" "name of an experiment"
	expect_eq "$(ls ws/.xtrk/refs/tags | sort | tr "\n" " ")" "baseline release-1 "
	# The same rule when a run is recorded: an existing experiment, or the one being created.
	before=$(store_listing ws)
	expect_exit 1 $W commit-run -e exp --tag other
	expect_exit 1 $W commit-run -e fresh --tag fresh
	expect_exit 1 $W run -e fresh2 --tag fresh2 -- touch "$TRASH/ran"
	expect_eq "$(store_listing ws)" "$before"
	test ! -e "$TRASH/ran"
	expect_contains "$($W commit-run -e exp --tag other 2>&1 || true)" "name of an experiment"
'

check "a removed run cannot be tagged (by full ID or ID prefix), nor an object that is not a run" '
	xtrk -C ws commit-run -e scratch -m scratch >/dev/null 2>&1
	S=$($W log -e scratch --format json | json_get 0.id)
	$W rm "$S" >/dev/null
	unchanged $W tag "$S" gone
	unchanged $W tag "${S:0:8}" gone
	expect_contains "$($W tag "$S" gone 2>&1 || true)" "is removed; '\''xtrk rm --restore $S'\''"
	expect_contains "$($W tag "${S:0:8}" gone 2>&1 || true)" "is removed"
	echo data > blob.txt
	B=$($W hash-object -w "$TRASH/blob.txt")
	unchanged $W tag "$B" blobtag
	expect_contains "$($W tag "$B" blobtag 2>&1 || true)" "is not a run in this store"
	$W rm --restore "$S" >/dev/null
	$W tag "$S" gone >/dev/null
	$W tag -d gone >/dev/null
'

check "tag -d deletes under the lock; an unknown name deletes nothing; a held lock leaves it" '
	$W tag exp doomed >/dev/null
	$W tag exp doomed2 >/dev/null
	before=$(store_listing ws)
	expect_exit 1 $W tag -d doomed nosuch
	expect_contains "$($W tag -d doomed nosuch 2>&1 || true)" "no tag '\''nosuch'\''"
	expect_eq "$(store_listing ws)" "$before"
	touch ws/.xtrk/refs/tags/doomed.lock
	XTRK_LOCK_TIMEOUT_MS=50 expect_exit 1 $W tag -d doomed
	test -f ws/.xtrk/refs/tags/doomed
	rm ws/.xtrk/refs/tags/doomed.lock
	expect_eq "$($W tag -d doomed doomed2)" "deleted tag '\''doomed'\'' (was ${TWO:0:12})
deleted tag '\''doomed2'\'' (was ${TWO:0:12})"
	test ! -e ws/.xtrk/refs/tags/doomed
	test ! -e ws/.xtrk/refs/tags/doomed2
	expect_exit 1 $W tag -d doomed
	unchanged $W tag -d
'

check "a damaged tag is listed as such and can be deleted; a removed run is marked in the list" '
	echo garbage > ws/.xtrk/refs/tags/broken
	expect_contains "$($W tag)" "broken  (does not hold a run ID"
	expect_eq "$($W tag -l broken --json | json_get 0.state)" damaged
	expect_eq "$($W tag -d broken)" "deleted tag '\''broken'\'' (it held no run ID)"
	$W rm "$THREE" >/dev/null
	expect_contains "$($W tag -l "release*")" "release-1  ${THREE:0:12}  other (removed)"
	expect_eq "$($W tag -l "release*" --json | json_get 0.state)" removed
	$W rm --restore "$THREE" >/dev/null
'

check "tag usage errors exit 2" '
	unchanged $W tag exp
	unchanged $W tag a b c
	unchanged $W tag -d -l x
	unchanged $W tag -f
	unchanged $W tag --json exp newname
	unchanged $W tag --bogus
'

# ---- xtrk note ----

check "note RUN -m TEXT appends a note; note RUN lists record notes first, then appended, with author and time" '
	$W note exp~1 -m "first appended" > out
	expect_contains "$(cat out)" "noted run ${ONE:0:12} (note "
	test "$(ls ws/.xtrk/refs/notes/$ONE | wc -l)" -eq 1
	sleep 0.01
	$W note baseline -m "second appended" >/dev/null
	$W note exp~1 > list
	expect_eq "$(grep -c "Test User <test@example.com>" list)" 3
	expect_eq "$(sed -n 2p list)" "    recorded note"
	expect_contains "$(sed -n 3p list)" "  note "
	expect_eq "$(sed -n 4p list)" "    first appended"
	expect_eq "$(sed -n 6p list)" "    second appended"
	$W note exp~1 --json > j
	expect_eq "$(json_get 0.text < j)" "recorded note"
	expect_eq "$(json_get 0.id < j)" null
	expect_eq "$(json_get 2.text < j)" "second appended"
	expect_eq "$(json_get 2.author < j)" "Test User <test@example.com>"
	expect_contains "$(json_get 2.time < j)" "Z"
'

check "show, log --json, log --columns notes and --where see appended notes after the record'\''s" '
	expect_contains "$($W show exp~1)" "note: first appended  (Test User <test@example.com>, "
	expect_eq "$($W show exp~1 | grep -c "^note:")" 3
	$W show --json exp~1 > j
	expect_eq "$(json_get notes < j)" "[\"recorded note\", \"first appended\", \"second appended\"]"
	expect_eq "$(json_get appended_notes.1.text < j)" "second appended"
	expect_eq "$($W log -e exp --format json | json_get 1.notes.2)" "second appended"
	expect_contains "$($W log -e exp --columns id,notes)" "${ONE:0:12}  recorded note,first appended,second appended"
	expect_contains "$($W log -e exp --columns id,notes.1)" "${ONE:0:12}  first appended"
	expect_eq "$($W log --where "notes.2 == \"second appended\"" --format json | json_get 0.id)" "$ONE"
	expect_eq "$($W log --where "notes.3 == \"second appended\"" --format json)" "[]"
	expect_eq "$($W log --where "notes contains \"second appended\"" --format json | json_get 0.id)" "$ONE"
	expect_eq "$($W export -e exp --where "id == \"$ONE\"" | json_get 0.notes.2)" "second appended"
	expect_contains "$($W export -e exp --format csv --columns id,notes)" "$ONE,\"recorded note,first appended,second appended\""
'

check "-F FILE, -F - and -m - read the note; several lines are listed indented" '
	printf "line one\n\tline two\n" > note.txt
	$W note exp -F note.txt >/dev/null
	printf "from stdin" | $W note exp -m - >/dev/null
	printf "from stdin too" | $W note exp -F - >/dev/null
	$W note exp > list
	expect_contains "$(cat list)" "    line one
    	line two"
	expect_contains "$(cat list)" "    from stdin"
	expect_contains "$(cat list)" "    from stdin too"
	expect_eq "$($W note exp --json | json_get 0.text)" "line one
	line two"
'

check "hostile note text is refused with exit 2 and writes nothing (control characters, NUL, non-UTF-8, size)" '
	n=0
	for t in "\033[2J" "a\rb" "\177" "\302\233" "\377" "a\000b" "" "\033]8;;http://x\007"; do
		printf "$t" > bad.txt
		unchanged $W note exp -F bad.txt
		n=$((n + 1))
	done
	unchanged $W note exp -m "$(printf "bell\007")"
	unchanged $W note exp -m ""
	expect_contains "$($W note exp -m "$(printf "ok\nthen\033x")" 2>&1 || true)" "control character (byte 0x1b at offset 7, line 2)"
	expect_contains "$($W note exp -F bad.txt 2>&1 || true)" "control character"
	printf "\377" > bad.txt
	expect_contains "$($W note exp -F bad.txt 2>&1 || true)" "not UTF-8"
	head -c 65537 /dev/zero | tr "\0" a > big.txt
	unchanged $W note exp -F big.txt
	expect_contains "$($W note exp -F big.txt 2>&1 || true)" "at most 65536 bytes"
	head -c 20000000 /dev/zero | tr "\0" a > huge.txt
	unchanged $W note exp -m - < huge.txt
	unchanged $W note exp -F huge.txt
	head -c 65536 /dev/zero | tr "\0" a > max.txt
	$W note exp -F max.txt >/dev/null
	unchanged $W note exp -F /nonexistent
'

check "what a note may hold is shown escaped: bidirectional controls never reach the terminal raw" '
	$W note other -m "$(printf "rev \342\200\256txt.exe")" >/dev/null
	expect_contains "$($W note other)" "rev \\u202etxt.exe"
	expect_not_contains "$($W note other)" "$(printf "\342\200\256")"
	expect_not_contains "$($W show other)" "$(printf "\342\200\256")"
	expect_eq "$($W note other --json | json_get 0.text)" "$(printf "rev \342\200\256txt.exe")"
'

check "a removed or unknown run cannot be noted; notes cannot be edited; usage errors exit 2" '
	$W rm "$THREE" >/dev/null
	unchanged $W note "$THREE" -m hi
	expect_contains "$($W note "$THREE" -m hi 2>&1 || true)" "is removed"
	$W rm --restore "$THREE" >/dev/null
	expect_exit 1 $W note nosuchrun -m hi
	unchanged $W note exp -m a -m b
	unchanged $W note exp -m a -F note.txt
	unchanged $W note exp -m a --json
	unchanged $W note exp -d
	unchanged $W note
	unchanged $W note exp other -m x
'

check "concurrent notes all survive (a run'\''s notes are a set of refs)" '
	for i in 1 2 3 4 5 6 7 8; do $W note other~0 -m "parallel $i" >/dev/null & done
	wait
	expect_eq "$($W note other --json | json_get 0.text >/dev/null; $W note other | grep -c "    parallel")" 8
	$W fsck -q
'

check "fsck is clean with notes, and notes are objects it checks" '
	$W fsck > out 2>&1
	expect_contains "$(cat out)" "0 problems"
'

# damaged CASE: a copy of the store with one kind of note damage; fsck reports MESSAGE (exit 3),
# and show / note / log still work, skipping the bad note with a warning.
damaged() {
	rm -rf dmg && cp -a ws dmg
	N=$(ls dmg/.xtrk/refs/notes/$ONE | head -1)
	eval "$1"
	expect_exit 3 xtrk -C dmg fsck > fsck.out
	expect_contains "$(cat fsck.out)" "$2"
	xtrk -C dmg show exp~1 > /dev/null 2> show.err
	xtrk -C dmg log --columns notes > /dev/null
	xtrk -C dmg note exp~1 > /dev/null
}

check "fsck: a note ref naming a missing object" '
	damaged "echo 00000000000000000000000000000001 > dmg/.xtrk/refs/notes/$ONE/00000000000000000000000000000001" \
		"note 00000000000000000000000000000001 of run $ONE is not in the store"
	expect_contains "$(cat show.err)" "skipped"
'
check "fsck: a note filed under another run" '
	damaged "mkdir -p dmg/.xtrk/refs/notes/$TWO && cp dmg/.xtrk/refs/notes/$ONE/\$N dmg/.xtrk/refs/notes/$TWO/" \
		"belongs to another run"
	expect_eq "$(xtrk -C dmg note exp --json 2>/dev/null | grep -c "first appended")" 0
'
check "fsck: notes of a run the store does not have" '
	damaged "mkdir -p dmg/.xtrk/refs/notes/0123456789abcdef0123456789abcdef" "notes of a run this store does not have"
'
check "fsck: a note ref that holds another ID than its name" '
	damaged "echo 0123456789abcdef0123456789abcdef > dmg/.xtrk/refs/notes/$ONE/\$N" "does not hold the note ID it is named by"
'
check "fsck: a note object that is not a note, or not in the form xtrk writes" '
	printf "{\"author\": \"a\", \"run\": \"%s\", \"text\": \"t\", \"time\": \"2026-01-01T00:00:00.000000Z\"}" "$ONE" > loose.json
	damaged "L=\$(xtrk -C dmg hash-object -w \"$TRASH/loose.json\"); echo \$L > dmg/.xtrk/refs/notes/$ONE/\$L" \
		"is not in the form xtrk writes"
	printf "{\"author\":\"a\",\"run\":\"%s\",\"text\":\"\\\\u001b[2J\",\"time\":\"2026-01-01T00:00:00.000000Z\"}" "$ONE" > esc.json
	damaged "L=\$(xtrk -C dmg hash-object -w \"$TRASH/esc.json\"); echo \$L > dmg/.xtrk/refs/notes/$ONE/\$L" \
		"has text that is not a note"
	printf "not json" > nj.txt
	damaged "L=\$(xtrk -C dmg hash-object -w \"$TRASH/nj.txt\"); echo \$L > dmg/.xtrk/refs/notes/$ONE/\$L" "is not JSON"
	head -c 300000 /dev/zero > huge.bin
	damaged "L=\$(xtrk -C dmg hash-object -w \"$TRASH/huge.bin\"); echo \$L > dmg/.xtrk/refs/notes/$ONE/\$L" \
		"larger than any note (300000 bytes)"
'

# ---- notes and tags travel ----

check "a bundle carries appended notes and tags; import verifies and names them; again changes nothing" '
	$W bundle create -o "$TRASH/good.tar" exp exp~1 other 2>/dev/null
	mkdir dst && (cd dst && new_ws)
	xtrk -C dst bundle import good.tar 2>/dev/null
	expect_eq "$(xtrk -C dst note exp~1 --json)" "$($W note exp~1 --json)"
	expect_eq "$(xtrk -C dst note other --json)" "$($W note other --json)"
	expect_eq "$(xtrk -C dst tag)" "$($W tag)"
	xtrk -C dst fsck -q
	before=$(store_listing dst)
	xtrk -C dst bundle import good.tar 2>/dev/null
	expect_eq "$(store_listing dst)" "$before"
'

# hostile CASE MESSAGE: a variant of good.tar whose manifest notes are changed by the Python in CASE
# (run entry e, its notes list ns; fix(n) gives n the ID of its content); verify reports MESSAGE,
# import refuses it and leaves the store as it was.
hostile() {
	python3 - good.tar "h.tar" "$1" <<'PY'
import io, json, re, subprocess, sys, tarfile
src, out, case = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(src) as t:
    entries = [(m, t.extractfile(m).read() if m.isfile() else b"") for m in t.getmembers()]
def canon(n):
    b = json.dumps({k: v for k, v in n.items() if k != "id"}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return re.sub(r"\\u00([0-9a-f]{2})", lambda m: "\\u00" + m.group(1).upper(), b).encode()
def fix(n):
    n["id"] = subprocess.run(["xxhsum", "-H2", "-"], input=canon(n), capture_output=True, check=True).stdout.split()[0].decode()
    return n
i = next(k for k, (m, _) in enumerate(entries) if m.name == "xtrk-bundle.json")
m = json.loads(entries[i][1])
e = next(r for r in m["runs"] if r.get("notes") and len(r["notes"]) >= 2)
ns = e["notes"]
exec(case)
data = json.dumps(m).encode()
info = tarfile.TarInfo("xtrk-bundle.json"); info.size = len(data); info.mode = 0o644
entries[i] = (info, data)
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    for mem, d in entries:
        t.addfile(mem, io.BytesIO(d) if mem.isfile() else None)
PY
	set +e
	xtrk bundle verify h.tar > verify.out 2>&1; vrc=$?
	xtrk -C victim bundle import h.tar > import.out 2>&1; irc=$?
	set -e
	expect_eq $vrc 3
	expect_contains "$(cat verify.out)" "$2"
	expect_eq $irc 1
	expect_contains "$(cat import.out)" "$2"
	expect_eq "$(store_listing victim)" "$vbefore"
}

check "hostile bundles: each broken note is refused, and nothing is imported" '
	mkdir victim && (cd victim && new_ws)
	vbefore=$(store_listing victim)
	xtrk bundle verify good.tar 2>&1 | grep "0 problems" >/dev/null
	hostile "ns[0][\"text\"] = \"changed\"" "does not hash to its ID"
	hostile "ns[0][\"run\"] = \"0\" * 32; fix(ns[0])" "belongs to another run"
	hostile "ns[0][\"text\"] = \"\x1b[2J\x1b]0;pwned\x07\"; fix(ns[0])" "has text that is not a note"
	hostile "ns[0][\"text\"] = \"\u009b31m\"; fix(ns[0])" "has text that is not a note"
	hostile "ns[0][\"text\"] = \"a\" * 65537; fix(ns[0])" "has text that is not a note"
	hostile "ns[0][\"author\"] = \"evil\nauthor\"; fix(ns[0])" "has an author that is not one line"
	hostile "ns[0][\"time\"] = \"yesterday\"; fix(ns[0])" "has no valid time"
	hostile "ns[0][\"extra\"] = 1; fix(ns[0])" "is not a note (author, run, text and time)"
	hostile "del ns[0][\"author\"]; fix(ns[0])" "is not a note (author, run, text and time)"
	hostile "ns[0][\"text\"] = 5; fix(ns[0])" "is not a note (author, run, text and time)"
	hostile "ns[1] = ns[0]" "twice"
	hostile "ns[0] = \"a string\"" "has no note ID"
	hostile "del ns[0][\"id\"]" "has no note ID"
	hostile "e[\"notes\"] = {\"a\": 1}" "are not a list"
	hostile "e[\"notes\"] = [ns[1]] * 10001" "a run holds at most 10000"
'

check "push and pull carry notes and tags; notes added on both sides are united" '
	$W remote add shared "$TRASH/remote" >/dev/null
	$W push shared >/dev/null 2>&1
	mkdir peer && (cd peer && new_ws)
	xtrk -C peer remote add shared "$TRASH/remote" >/dev/null
	xtrk -C peer pull shared >/dev/null 2>&1
	expect_eq "$(xtrk -C peer note exp~1 --json)" "$($W note exp~1 --json)"
	expect_contains "$(xtrk -C peer tag)" "baseline  ${ONE:0:12}  exp"
	xtrk -C peer note baseline -m "from the peer" >/dev/null
	$W note baseline -m "from ws" >/dev/null
	xtrk -C peer push shared >/dev/null 2>&1
	$W pull shared >/dev/null 2>&1
	expect_contains "$($W note baseline)" "from the peer"
	expect_contains "$($W note baseline)" "from ws"
	$W push shared >/dev/null 2>&1
	xtrk -C peer pull shared >/dev/null 2>&1
	expect_eq "$(xtrk -C peer note baseline --json)" "$($W note baseline --json)"
	xtrk -C peer fsck -q
	$W fsck -q
'

check "pull leaves a damaged note of the remote behind, with a warning, and takes the rest" '
	R=$TRASH/remote/refs/notes/$ONE
	printf "{\"author\":\"a\",\"run\":\"%s\",\"text\":\"evil\\\\u001B\",\"time\":\"2026-01-01T00:00:00.000000Z\"}" "$ONE" > evil.json
	L=$(xtrk hash-object evil.json)
	mkdir -p shadow && (cd shadow && new_ws) && xtrk -C shadow hash-object -w "$TRASH/evil.json" >/dev/null
	cp -r shadow/.xtrk/objects/pack/. "$TRASH/remote/objects/pack/"
	echo "$L" > "$R/$L"
	mkdir fresh && (cd fresh && new_ws)
	xtrk -C fresh remote add shared "$TRASH/remote" >/dev/null
	xtrk -C fresh pull shared > out 2>&1
	expect_contains "$(cat out)" "note $L of run $ONE has text that is not a note"
	test ! -e fresh/.xtrk/refs/notes/$ONE/$L
	expect_contains "$(xtrk -C fresh note exp~1)" "from the peer"
	xtrk -C fresh fsck -q
'

finish
