#!/bin/sh
# A hostile S3 remote: objects that do not match their IDs, a tampered pack or source pack, sizes that
# lie, an index that is not one, refs and names that try to leave the staging store.  Every pull is
# refused and changes nothing in the pulling store.
. "$(dirname "$0")/lib.sh"
. "$XTRK_TEST_SRCDIR/tests/helpers/s3env.sh"

mkdir alice && cd alice
new_git_repo
new_ws
mkdir data && i=0; while [ $i -lt 10 ]; do head -c 5000 /dev/urandom > data/f$i; i=$((i+1)); done
head -c 700000 /dev/urandom > model.bin
echo "# tweak" >> train.py
run=$(xtrk commit-run -e ev -d data --model model.bin -p lr=0.1)
model=$(xxhsum -H2 model.bin | cut -d" " -f1)
xtrk remote add r s3://team-bucket/base --endpoint "$S3_URL" 2>/dev/null
xtrk push r 2>/dev/null
cd "$TRASH"
s3obj get base/index.json > index.json

# victim PREFIX: a fresh store with remote r at PREFIX; the pull must fail (exit 1) and change nothing.
victim() {
	mkdir v-$1 && cd v-$1 && new_ws && xtrk remote add r "s3://team-bucket/$1" --endpoint "$S3_URL" 2>/dev/null
	before=$(store_listing)
	expect_exit 1 xtrk pull r 2>"$TRASH/err"
	expect_eq "$(store_listing)" "$before"
	cd "$TRASH"
}
# index_edit PREFIX PYTHON: a copy of the remote at PREFIX whose index is changed by PYTHON (on `ix`).
index_edit() {
	s3obj copy base "$1"
	python3 - "$2" <<-PY > ix.json
	import json, sys
	ix = json.load(open("index.json"))
	exec(sys.argv[1])
	print(json.dumps(ix))
	PY
	s3obj put "$1/index.json" ix.json
}

check "the untouched remote pulls cleanly (the cases below differ by one change each)" '
	mkdir ok && cd ok && new_ws && xtrk remote add r s3://team-bucket/base --endpoint "$S3_URL" 2>/dev/null
	xtrk pull r 2>/dev/null && xtrk fsck --read-data
'
check "a large object whose bytes do not match its ID is refused" '
	s3obj copy base c1
	s3obj get c1/objects/$model > obj && flip_byte obj 4000 && s3obj put c1/objects/$model obj
	victim c1
	expect_contains "$(cat err)" "$model"
'
check "a tampered pack is refused" '
	s3obj copy base c2
	p=$(s3obj list c2/objects/pack/ | grep "\.pack " | cut -d" " -f1)
	s3obj get $p > pk && flip_byte pk 200 && s3obj put $p pk
	victim c2
'
check "a tampered source pack is refused" '
	s3obj copy base c3
	p=$(s3obj list c3/source/ | grep "\.pack " | cut -d" " -f1)
	test -n "$p"
	s3obj get $p > pk && flip_byte pk 100 && s3obj put $p pk
	victim c3
	expect_contains "$(cat err)" "source"
'
check "an object whose size differs from the one its index gives is refused" '
	s3obj copy base c4
	s3obj get c4/objects/$model > obj && printf x >> obj && s3obj put c4/objects/$model obj
	victim c4
	expect_contains "$(cat err)" "bytes where its index says"
'
check "an index that is not JSON, or not an index, is refused" '
	s3obj copy base c5 && printf "{\"format\": 1, \"packs\": " > bad && s3obj put c5/index.json bad
	victim c5
	expect_contains "$(cat err)" "not JSON"
	index_edit c6 "ix[\"format\"] = 2"
	victim c6
	expect_contains "$(cat err)" "not an xtrk index"
'
check "refs that try to leave the staging store, or are not refs xtrk writes, are refused" '
	index_edit c7 "ix[\"refs\"][\"experiments/../../../../escape/$run\"] = \"$run\""
	victim c7
	expect_contains "$(cat err)" "not a ref name"
	test ! -e escape && test ! -e v-c7/escape && test ! -e v-c7/.xtrk/escape
	index_edit c8 "ix[\"refs\"][\"heads/main\"] = \"$run\""
	victim c8
	index_edit c9 "ix[\"refs\"][\"tags/x\"] = \"a\" * 5000"
	victim c9
	expect_contains "$(cat err)" "short text"
'
check "pack, loose and source names that are not IDs are refused before any download" '
	index_edit c10 "ix[\"loose\"][\"../../../../x\"] = 5"
	victim c10
	expect_contains "$(cat err)" "loose entry"
	index_edit c11 "k = list(ix[\"packs\"])[0]; ix[\"packs\"][\"pack-../../x\"] = ix[\"packs\"].pop(k)"
	victim c11
	expect_contains "$(cat err)" "pack entry"
	index_edit c12 "k = list(ix[\"sources\"])[0]; ix[\"sources\"][k][\"commits\"] = [\"--upload-pack=x\"]"
	victim c12
	expect_contains "$(cat err)" "not a commit ID"
	index_edit c13 "k = list(ix[\"packs\"])[0]; ix[\"packs\"][k][\"objects\"] += \"zz\""
	victim c13
'
check "a run ref naming a run the remote does not hold, or a ref holding another ID, is refused" '
	index_edit c14 "ix[\"refs\"][\"experiments/ev/0123456789abcdef0123456789abcdef\"] = \"0123456789abcdef0123456789abcdef\""
	victim c14
	expect_contains "$(cat err)" "0123456789abcdef0123456789abcdef"
	index_edit c15 "ix[\"refs\"][\"experiments/ev/$run\"] = \"0123456789abcdef0123456789abcdef\""
	victim c15
	expect_contains "$(cat err)" "does not hold what xtrk writes"
	index_edit c17 "ix[\"refs\"][\"tags/t\"] = \"../../x\""
	victim c17
'
check "a blob filed as the run record is refused" '
	s3obj copy base c16
	index_edit c16 "ix[\"refs\"] = {\"experiments/ev/$model\": \"$model\"}"
	victim c16
'
finish
