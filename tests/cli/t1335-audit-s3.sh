#!/bin/sh
# The audit log travels through S3 remotes too, in the remote's index: pushed, pulled, extended;
# an index whose chains were altered, rewritten or named by a path is refused with nothing changed.
. "$(dirname "$0")/lib.sh"
. "$XTRK_TEST_SRCDIR/tests/helpers/s3env.sh"

mkdir alice && (cd alice && new_ws && xtrk commit-run -e exp --metric acc=0.9 >/dev/null 2>&1)
RA=$(xtrk -C alice log --format json | json_get 0.id)
xtrk -C alice tag "$RA" best >/dev/null
xtrk -C alice note "$RA" -m "first look" >/dev/null
xtrk -C alice note "$RA" -m "second look" >/dev/null
ORIGIN=$(head -n1 alice/.xtrk/audit | tr -d '\n' | xxhsum -H2 - | cut -d" " -f1)
xtrk -C alice remote add team s3://team-bucket/lab --endpoint "$S3_URL" >/dev/null 2>&1

# unchanged STORE CODE CMD...: CMD exits CODE and STORE is byte-identical afterwards.
unchanged() {
	st=$1 code=$2; shift 2
	before=$(store_listing "$st")
	expect_exit "$code" "$@"
	expect_eq "$(store_listing "$st")" "$before"
}

# edit PREFIX PYTHON: the index under PREFIX with its audit chains edited by PYTHON
# (tests/helpers/auditedit.py: C the chains, L the first one's lines, rechain(L), line(e), h(text)).
edit() {
	s3obj get "$1/index.json" > ix.json
	python3 "$XTRK_TEST_SRCDIR/tests/helpers/auditedit.py" index ix.json "$2"
	s3obj put "$1/index.json" ix.json
}

check "push puts the store's chain in the index; pull keeps it; a later push extends it" '
	xtrk -C alice push team >/dev/null 2>&1
	s3obj get lab/index.json > ix.json
	expect_eq "$(json_get audit.0.origin < ix.json)" "$ORIGIN"
	mkdir bob && (cd bob && new_ws)
	xtrk -C bob remote add team s3://team-bucket/lab --endpoint "$S3_URL" >/dev/null 2>&1
	xtrk -C bob pull team >/dev/null 2>&1
	cmp alice/.xtrk/audit "bob/.xtrk/audit.d/$ORIGIN"
	xtrk -C alice note "$RA" -m "third look" >/dev/null
	xtrk -C alice push team >/dev/null 2>&1
	xtrk -C bob pull team >/dev/null 2>&1
	cmp alice/.xtrk/audit "bob/.xtrk/audit.d/$ORIGIN"
	xtrk -C bob audit --verify
'

check "a pull from an index whose chain was altered, or rewrites what was received, is refused" '
	s3obj copy lab bad1
	edit bad1 "L[1] = L[1].replace(\"Test User\", \"Mallory\")"
	xtrk -C bob remote add bad1 s3://team-bucket/bad1 --endpoint "$S3_URL" >/dev/null 2>&1
	unchanged bob 1 xtrk -C bob pull bad1
	expect_contains "$(xtrk -C bob pull bad1 2>&1 || true)" "is broken at entry 3"
	expect_contains "$(xtrk -C bob pull bad1 2>&1 || true)" "nothing was pulled"
	s3obj copy lab bad2
	edit bad2 "e = json.loads(L[2]); e[\"detail\"][\"x\"] = 1; L[2] = line(e); rechain(L)"
	xtrk -C bob remote add bad2 s3://team-bucket/bad2 --endpoint "$S3_URL" >/dev/null 2>&1
	unchanged bob 1 xtrk -C bob pull bad2
	expect_contains "$(xtrk -C bob pull bad2 2>&1 || true)" "rewrites history already received: its entry 3"
	s3obj copy lab bad3
	edit bad3 "C[0][\"origin\"] = \"../../audit\""
	xtrk -C bob remote add bad3 s3://team-bucket/bad3 --endpoint "$S3_URL" >/dev/null 2>&1
	unchanged bob 1 xtrk -C bob pull bad3
	expect_contains "$(xtrk -C bob pull bad3 2>&1 || true)" "is not an origin (32 hex digits)"
'

check "a push into an index holding a rewritten copy of this store's chain is refused" '
	s3obj copy lab bad4
	edit bad4 "e = json.loads(L[-1]); e[\"who\"] = \"Mallory\"; L[-1] = line(e); rechain(L)"
	xtrk -C alice remote add bad4 s3://team-bucket/bad4 --endpoint "$S3_URL" >/dev/null 2>&1
	(cd alice && xtrk commit-run -e exp --metric acc=0.1 >/dev/null 2>&1)
	s3obj get bad4/index.json > before.json
	expect_exit 1 xtrk -C alice push bad4
	expect_contains "$(xtrk -C alice push bad4 2>&1 || true)" "rewrites history already received"
	s3obj get bad4/index.json > after.json
	cmp before.json after.json
'

finish
