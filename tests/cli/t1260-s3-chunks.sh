#!/bin/sh
# Files stored as chunks through an S3 remote: a push sends only the chunks the remote lacks, a pull
# fetches only those this store lacks and reads the others from this store, and both read back whole.
. "$(dirname "$0")/lib.sh"
. "$XTRK_TEST_SRCDIR/tests/helpers/s3env.sh"

chunky() {
	new_ws
	git config -f .xtrk/config core.chunkThreshold 1m
	git config -f .xtrk/config core.chunkSize 65536
}
mkdir alice && cd alice
new_git_repo
chunky
python3 -c 'import random; open("model.bin", "wb").write(random.Random(3).randbytes(3000000))'
a1=$(xtrk commit-run -e ft --model model.bin)
cp model.bin "$TRASH/v1.bin"
cd "$TRASH"
mkdir bob && (cd bob && chunky)
s3bytes() { s3obj list lab/ | awk '{ s += $2 } END { print s + 0 }'; }

check "a file stored as chunks goes to the remote and comes back whole" '
	xtrk -C alice remote add team s3://team-bucket/lab --endpoint "$S3_URL" 2>/dev/null
	xtrk -C alice push team >/dev/null 2>&1
	xtrk -C bob remote add team s3://team-bucket/lab --endpoint "$S3_URL" 2>/dev/null
	xtrk -C bob pull team >/dev/null 2>&1
	xtrk -C bob checkout --no-source -C "$TRASH/co1" $a1 >/dev/null
	cmp "$TRASH/co1/model.bin" v1.bin
	xtrk -C bob fsck --read-data 2>&1 | grep " 0 problems" >/dev/null
'

check "a new version sends and fetches only its new chunks, and the pull reads the rest from this store" '
	python3 -c "
d = bytearray(open(\"alice/model.bin\", \"rb\").read())
d[1000000:1000000] = b\"a few bytes inserted\"
open(\"alice/model.bin\", \"wb\").write(d)"
	a2=$(cd alice && xtrk commit-run -e ft --model model.bin)
	before=$(s3bytes)
	xtrk -C alice push team >/dev/null 2>&1
	sent=$(( $(s3bytes) - before ))
	[ $sent -lt 1000000 ] || { echo "pushed $sent bytes for a 3 MB file changed in one place"; exit 1; }
	b0=$(du -sb bob/.xtrk/objects | cut -f1)
	xtrk -C bob pull team >/dev/null 2>err || { cat err; exit 1; }
	got=$(( $(du -sb bob/.xtrk/objects | cut -f1) - b0 ))
	[ $got -lt 1000000 ] || { echo "pulled $got bytes"; exit 1; }
	xtrk -C bob checkout --no-source -C "$TRASH/co2" $a2 >/dev/null
	cmp "$TRASH/co2/model.bin" alice/model.bin
	xtrk -C bob fsck --read-data 2>&1 | grep " 0 problems" >/dev/null
'

finish
