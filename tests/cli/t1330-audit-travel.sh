#!/bin/sh
# The audit log travels with bundles, push and pull: each store's chain is named by its origin (the
# hash of its first entry) and kept by the receiver under .xtrk/audit.d; a carried chain that is
# broken, rewrites what was received, holds junk, control characters or an oversized entry, or
# names a path instead of an origin is refused with nothing changed.
. "$(dirname "$0")/lib.sh"

for s in a b; do
	mkdir $s && (cd $s && new_ws && xtrk commit-run -e exp --metric acc=0.9 >/dev/null 2>&1)
done
RA=$(xtrk -C a log -e exp --format json | json_get 0.id)
RB=$(xtrk -C b log -e exp --format json | json_get 0.id)
xtrk -C a tag "$RA" best >/dev/null
xtrk -C a note "$RA" -m "first look" >/dev/null
xtrk -C a stage "$RA" staging >/dev/null
xtrk -C a note "$RA" -m "second look" >/dev/null
xtrk -C b note "$RB" -m "b's own" >/dev/null
ORIGIN=$(head -n1 a/.xtrk/audit | tr -d '\n' | xxhsum -H2 - | cut -d" " -f1)
xtrk -C a bundle create -o a1.tar "$RA" >/dev/null

# unchanged STORE CODE CMD...: CMD exits CODE and STORE is byte-identical afterwards.
unchanged() {
	st=$1 code=$2; shift 2
	before=$(store_listing "$st")
	expect_exit "$code" "$@"
	expect_eq "$(store_listing "$st")" "$before"
}

# carry IN OUT PYTHON: a copy of bundle IN whose manifest's audit chains are edited by PYTHON
# (tests/helpers/auditedit.py: C the chains, L the first one's lines, rechain(L), line(e), h(text)).
carry() { python3 "$XTRK_TEST_SRCDIR/tests/helpers/auditedit.py" bundle "$1" "$2" "$3"; }

# refused NAME PYTHON MESSAGE: store b (which holds a2.tar's chain) refuses a copy of a2.tar edited by PYTHON, naming MESSAGE,
# and is unchanged; bundle verify reports it too.
refused() {
	carry a2.tar "bad-$1.tar" "$2"
	unchanged b 1 xtrk -C b bundle import "bad-$1.tar"
	xtrk -C b bundle import "bad-$1.tar" > out 2>&1 || true
	expect_contains "$(cat out)" "$3"
	expect_contains "$(cat out)" "nothing was imported"
}

check "a bundle carries the store's audit log; import keeps it, named by its origin, and shows it" '
	expect_eq "$(python3 -c "import json; print(json.load(open(\"/dev/stdin\"))[\"audit\"][0][\"origin\"])" \
		< <(tar -xOf a1.tar xtrk-bundle.json))" "$ORIGIN"
	xtrk -C b bundle import a1.tar >/dev/null
	cmp a/.xtrk/audit "b/.xtrk/audit.d/$ORIGIN"
	expect_contains "$(xtrk -C b audit --all)" "# received from $ORIGIN"
	expect_contains "$(xtrk -C b audit --all)" "\"run\":\"$RA\",\"stage\":\"staging\"}"
	expect_eq "$(xtrk -C b audit --origin "$ORIGIN" --json | json_get 0.entries.3.what)" note
	expect_eq "$(xtrk -C b audit --origin "$ORIGIN" --json | json_get 0.own)" false
	expect_eq "$(xtrk -C b audit --verify)" "audit log: 1 entries, chain intact
received from $ORIGIN: 4 entries, chain intact"
	# its own log is untouched, and shown alone without --all
	expect_eq "$(xtrk -C b audit --json | json_get 0.what)" note
	expect_exit 2 xtrk -C b audit --origin 0123456789abcdef0123456789abcdef
	expect_exit 2 xtrk -C b audit --all --origin "$ORIGIN"
'

check "a later bundle extends what was received; an older one agrees and takes nothing" '
	xtrk -C a tag "$RA" v2 >/dev/null
	xtrk -C a bundle create -o a2.tar "$RA" >/dev/null
	xtrk -C b bundle import a2.tar >/dev/null
	cmp a/.xtrk/audit "b/.xtrk/audit.d/$ORIGIN"
	xtrk -C b bundle import a1.tar >/dev/null
	cmp a/.xtrk/audit "b/.xtrk/audit.d/$ORIGIN"
	expect_contains "$(xtrk -C b audit --verify)" "5 entries, chain intact"
'

# A receiver that never saw a's chain: the chain itself must be whole.
mkdir c && (cd c && new_ws)
refused_c() {
	carry a2.tar "badc-$1.tar" "$2"
	unchanged c 1 xtrk -C c bundle import "badc-$1.tar"
	xtrk -C c bundle import "badc-$1.tar" > out 2>&1 || true
	expect_contains "$(cat out)" "$3"
	xtrk -C c bundle verify "badc-$1.tar" > out 2>&1 || true
	expect_contains "$(cat out)" "$3"
}
check "an entry altered in a carried chain is refused" 'refused_c alter "L[1] = L[1].replace(\"Test User\", \"Mallory\")" "is broken at entry 3"'
check "an entry deleted from a carried chain is refused" 'refused_c delete "del L[2]" "is broken at entry 3"'
check "entries reordered in a carried chain are refused" 'refused_c swap "L[2], L[3] = L[3], L[2]" "is broken at entry 3"'
check "a chain named by another origin than its first entry is refused" \
	'refused_c origin "C[0][\"origin\"] = \"0123456789abcdef0123456789abcdef\"" "named by another entry than its first"'
check "the first entry removed (the chain re-linked, the origin kept) is refused" \
	'refused_c first "o = C[0][\"origin\"]; del L[0]; rechain(L); C[0][\"origin\"] = o" "named by another entry than its first"'

check "a chain that rewrites history already received is refused, even re-linked whole" '
	refused rewrite "e = json.loads(L[3]); e[\"detail\"][\"message\"] = \"never said\"; L[3] = line(e); rechain(L)" \
		"rewrites history already received: its entry 4 is not the one received before"
	refused rewho "e = json.loads(L[4]); e[\"who\"] = \"Mallory\"; L[4] = line(e); rechain(L)" \
		"its entry 5 is not the one received before"
	refused reorder "L[1], L[2] = L[2], L[1]; rechain(L)" "its entry 2 is not the one received before"
'

check "a chain altered at its first entry is another chain: kept beside, the one received untouched" '
	carry a2.tar first.tar "e = json.loads(L[0]); e[\"who\"] = \"Mallory\"; L[0] = line(e); rechain(L)"
	cp "b/.xtrk/audit.d/$ORIGIN" before
	xtrk -C b bundle import first.tar >/dev/null
	cmp before "b/.xtrk/audit.d/$ORIGIN"
	expect_eq "$(ls b/.xtrk/audit.d | wc -l)" 2
	expect_contains "$(xtrk -C b audit --all)" "Mallory"
	rm -f b/.xtrk/audit.d/$(python3 -c "import json; print(json.load(open(\"/dev/stdin\"))[\"audit\"][0][\"origin\"])" \
		< <(tar -xOf first.tar xtrk-bundle.json))
'

check "origins that are paths are refused, and nothing is written outside" '
	refused dots "C[0][\"origin\"] = \"../../../../escaped\"" "is not an origin (32 hex digits)"
	refused audit "C[0][\"origin\"] = \"../audit\"" "is not an origin (32 hex digits)"
	refused upper "C[0][\"origin\"] = C[0][\"origin\"].upper()" "is not an origin (32 hex digits)"
	test ! -e escaped && test ! -e b/escaped
'

check "control characters, an unknown kind of entry and oversized entries are refused" '
	refused ctlwho "e = json.loads(L[1]); e[\"who\"] = \"Test User\x1b[2J\"; L[1] = line(e); rechain(L)" \
		"control characters"
	refused ctlwhat "e = json.loads(L[1]); e[\"what\"] = \"tag\\n2 forged\"; L[1] = line(e); rechain(L)" "control characters"
	refused newline "L[1] = L[1] + \"\\n\" + L[1]" "not one line of at most"
	refused huge "e = json.loads(L[4]); e[\"detail\"][\"pad\"] = \"x\" * 70000; L[4] = line(e); rechain(L)" "not one line of at most"
'

check "junk where chains belong is refused" '
	refused notlist "M[\"audit\"] = {\"x\": 1}" "audit"
	refused notstr "L[1] = 7" "not one line"
	refused empty "C[0][\"entries\"] = []" "is not an origin"
	refused extra "C[0][\"who\"] = \"me\"" "is not an origin"
	refused twice "C.append(C[0])" "is carried twice"
	refused notjson "L[4] = \"hello\"" "not a JSON object"
	refused notours "e = json.loads(L[4]); e[\"extra\"] = 1; L[4] = line(e); rechain(L)" "not an audit entry"
'

check "a store keeps at most 4096 received chains: one more is refused, nothing changed" '
	cp -a c c-full
	mkdir -p c-full/.xtrk/audit.d
	python3 -c "[open(\"c-full/.xtrk/audit.d/%032x\" % (i + 1), \"w\").close() for i in range(4096)]"
	unchanged c-full 1 xtrk -C c-full bundle import a2.tar
	expect_contains "$(xtrk -C c-full bundle import a2.tar 2>&1 || true)" "it keeps at most 4096"
	rm -rf c-full
'

check "a chain claiming to be the receiver's own, with entries it never wrote, is refused" '
	xtrk -C b audit --json > b.json
	BORIGIN=$(json_get 0.hash < b.json)
	carry a2.tar mine.tar "
C.append({\"origin\": \"$BORIGIN\", \"own\": False, \"entries\": open(\"b/.xtrk/audit\").read().splitlines()})
e = json.loads(C[1][\"entries\"][0]); e[\"seq\"] = 2; e[\"prev\"] = h(C[1][\"entries\"][0]); C[1][\"entries\"].append(line(e))"
	unchanged b 1 xtrk -C b bundle import mine.tar
	expect_contains "$(xtrk -C b bundle import mine.tar 2>&1 || true)" "entries it never wrote"
	# its own log as it is (a prefix) is no news and accepted
	carry a2.tar mine-ok.tar "C.append({\"origin\": \"$BORIGIN\", \"own\": True, \"entries\": open(\"b/.xtrk/audit\").read().splitlines()})"
	xtrk -C b bundle import mine-ok.tar >/dev/null
	test ! -e "b/.xtrk/audit.d/$BORIGIN"
'

check "push and pull carry the chains: a's log reaches d through a folder remote" '
	xtrk -C a remote add r "$TRASH/rem" >/dev/null
	xtrk -C a push r >/dev/null
	cmp a/.xtrk/audit "rem/audit.d/$ORIGIN"
	mkdir d && (cd d && new_ws)
	xtrk -C d remote add r "$TRASH/rem" >/dev/null
	xtrk -C d pull r >/dev/null
	cmp a/.xtrk/audit "d/.xtrk/audit.d/$ORIGIN"
	xtrk -C a note "$RA" -m "after the push" >/dev/null
	xtrk -C a push r >/dev/null
	xtrk -C d pull r >/dev/null
	cmp a/.xtrk/audit "d/.xtrk/audit.d/$ORIGIN"
	# b pushes too: its own chain and the copy of a'\''s it holds (the same) travel
	xtrk -C b remote add r "$TRASH/rem" >/dev/null
	xtrk -C b push r >/dev/null
	xtrk -C d pull r >/dev/null
	expect_eq "$(ls d/.xtrk/audit.d | wc -l)" 2
	xtrk -C d audit --verify
'

check "a pull from a remote whose received copy was altered is refused, nothing pulled" '
	cp -a rem rem-bad
	python3 -c "
import sys; p = sys.argv[1]; L = open(p).read().split(\"\\n\")
L[2] = L[2].replace(\"Test User\", \"Mallory\"); open(p, \"w\").write(\"\\n\".join(L))" "rem-bad/audit.d/$ORIGIN"
	mkdir e && (cd e && new_ws)
	xtrk -C e remote add r "$TRASH/rem-bad" >/dev/null
	unchanged e 1 xtrk -C e pull r
	expect_contains "$(xtrk -C e pull r 2>&1 || true)" "the audit log received from $ORIGIN is broken at entry 4"
	expect_contains "$(xtrk -C e pull r 2>&1 || true)" "nothing was pulled"
'

check "a remote whose own log shrank since it was pulled from is refused; a newcomer cannot know" '
	rm -rf rem-own && cp -a rem rem-own
	mv "rem-own/audit.d/$ORIGIN" rem-own/audit
	printf "%s %s\n" "$(wc -l < rem-own/audit)" "$(tail -n1 rem-own/audit | tr -d "\n" | xxhsum -H2 - | cut -d" " -f1)" > rem-own/audit.head
	mkdir g && (cd g && new_ws)
	xtrk -C g remote add r "$TRASH/rem-own" >/dev/null
	xtrk -C g pull r >/dev/null
	cmp rem-own/audit "g/.xtrk/audit.d/$ORIGIN"
	# entries cut from its end, the head rewritten to match: whole as far as it goes
	# and a run g has not seen yet, which must not arrive either
	mkdir x && (cd x && new_ws && xtrk commit-run -e exp --metric acc=0.1 >/dev/null 2>&1)
	xtrk -C x remote add r "$TRASH/rem-own" >/dev/null && xtrk -C x push r >/dev/null
	head -n 3 rem-own/audit > t && mv t rem-own/audit
	printf "3 %s\n" "$(tail -n1 rem-own/audit | tr -d "\n" | xxhsum -H2 - | cut -d" " -f1)" > rem-own/audit.head
	unchanged g 1 xtrk -C g pull r
	expect_contains "$(xtrk -C g pull r 2>&1 || true)" "ends at entry 3 where entry 6 was received before: entries were removed from its end"
	mkdir h && (cd h && new_ws)
	xtrk -C h remote add r "$TRASH/rem-own" >/dev/null
	xtrk -C h pull r >/dev/null
	expect_eq "$(wc -l < "h/.xtrk/audit.d/$ORIGIN")" 3
'

check "a push into a remote holding a rewritten copy of this store's chain is refused" '
	rm -rf rem-rw && cp -a rem rem-rw
	python3 - "rem-rw/audit.d/$ORIGIN" <<EOF2
import json, subprocess, sys
def h(s): return subprocess.run(["xxhsum", "-H2", "-"], input=s.encode(), capture_output=True, check=True).stdout.split()[0].decode()
L = open(sys.argv[1]).read().splitlines()
e = json.loads(L[-1]); e["who"] = "Mallory"; L[-1] = json.dumps(e, sort_keys=True, separators=(",", ":"))
open(sys.argv[1], "w").write("".join(l + "\n" for l in L))
EOF2
	(cd a && xtrk commit-run -e exp --metric acc=0.2 >/dev/null 2>&1)
	xtrk -C a remote add rw "$TRASH/rem-rw" >/dev/null
	before=$(cd rem-rw && find . -type f -printf "%p %s\n" | sort)
	expect_exit 1 xtrk -C a push rw
	expect_eq "$(cd rem-rw && find . -type f -printf "%p %s\n" | sort)" "$before"
	expect_contains "$(xtrk -C a push rw 2>&1 || true)" "rewrites history"
'

check "a received chain altered here is caught by audit --verify (exit 3) and stops the next import" '
	cp -a b b2
	python3 -c "
import sys; p = sys.argv[1]; L = open(p).read().split(\"\\n\")
del L[1]; open(p, \"w\").write(\"\\n\".join(L))" "b2/.xtrk/audit.d/$ORIGIN"
	expect_exit 3 xtrk -C b2 audit --verify
	expect_contains "$(xtrk -C b2 audit --verify 2>&1 || true)" "the audit log received from $ORIGIN is broken at entry 2"
	expect_exit 3 xtrk -C b2 audit --all
	unchanged b2 1 xtrk -C b2 bundle import a2.tar
	printf junk > "b2/.xtrk/audit.d/$ORIGIN"
	expect_exit 3 xtrk -C b2 audit --verify
'

check "a store with a broken log sends nothing: bundle create and push refuse" '
	cp -a a a3
	sed -i 2d a3/.xtrk/audit
	expect_exit 1 xtrk -C a3 bundle create -o a3.tar "$RA"
	test ! -e a3.tar
	expect_contains "$(xtrk -C a3 bundle create -o a3.tar "$RA" 2>&1 || true)" "no bundle was written (see"
	xtrk -C a3 remote add r3 "$TRASH/rem3" >/dev/null
	expect_exit 1 xtrk -C a3 push r3
	expect_contains "$(xtrk -C a3 push r3 2>&1 || true)" "is broken at entry 2"
	test ! -e rem3/refs/experiments/exp
'

check "bash completion knows audit --all, --origin and the origins received" '
	bash -ec "
		. \"$XTRK_TEST_SRCDIR/contrib/completion/xtrk.bash\"
		cd b
		c() { COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _xtrk \"$XTRK_BIN\" || return 1; echo \"\${COMPREPLY[*]}\"; }
		test \"\$(c xtrk audit --ori)\" = --origin
		test \"\$(c xtrk audit --origin ${ORIGIN:0:6})\" = $ORIGIN
	"
'

finish
