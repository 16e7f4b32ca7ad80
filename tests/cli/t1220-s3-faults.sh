#!/bin/sh
# An S3 server that fails: 503s, connections dropped before and after the request reaches it, refusals,
# and no server at all.  Transient failures are retried with backoff; others are clear errors naming
# the object, never the credentials.
. "$(dirname "$0")/lib.sh"
. "$XTRK_TEST_SRCDIR/tests/helpers/s3env.sh"

mkdir alice && cd alice && new_ws
mkdir data && i=0; while [ $i -lt 30 ]; do head -c 4000 /dev/urandom > data/f$i; i=$((i+1)); done
head -c 2000000 /dev/urandom > m1.bin && head -c 1500000 /dev/urandom > m2.bin
r1=$(xtrk commit-run -e flaky -d data --model m1.bin --model m2.bin -p k=1)
r2=$(xtrk commit-run -e flaky -d data --model m2.bin -p k=2)
cd "$TRASH"
mkdir bob && (cd bob && new_ws)

check "every third request answered 503: add, push and pull retry and succeed" '
	proxy "503@3"
	xtrk -C alice remote add f s3://team-bucket/f --endpoint "$PROXY" 2>/dev/null
	xtrk -C alice push f 2>err
	expect_contains "$(cat err)" "2 runs (2 new)"
	xtrk -C bob remote add f s3://team-bucket/f --endpoint "$PROXY" 2>/dev/null
	xtrk -C bob pull f 2>err
	expect_contains "$(cat err)" "2 runs (2 new)"
	xtrk -C bob fsck --read-data
'
check "connections dropped before the server sees the request, and answers lost after it acted" '
	( cd alice && head -c 900000 /dev/urandom > m3.bin && xtrk commit-run -e flaky --model m3.bin -d data -p k=3 >/dev/null )
	proxy "drop@3,lost@4"
	xtrk -C alice push f 2>err
	expect_contains "$(cat err)" "3 runs (1 new)"
	mkdir carol && cd carol && new_ws && xtrk remote add f s3://team-bucket/f --endpoint "$PROXY" 2>/dev/null
	proxy "lost@2,drop@5"
	xtrk pull f 2>err
	expect_contains "$(cat err)" "3 runs (3 new)"
	xtrk fsck --read-data
	expect_eq "$(xtrk log -e flaky --format json | json_get 0.models.0.id)" "$(xxhsum -H2 ../alice/m3.bin | cut -d" " -f1)"
'
check "a refusal (403) is a clear error naming the object, after no needless retries" '
	proxy deny
	before=$(cd bob && store_listing)
	expect_exit 1 xtrk -C bob pull f 2>err
	expect_contains "$(cat err)" "HTTP 403 AccessDenied"
	expect_contains "$(cat err)" "s3://team-bucket/f/index.json"
	expect_not_contains "$(cat err)" "after"
	expect_not_contains "$(cat err)" "$AWS_SECRET_ACCESS_KEY"
	expect_eq "$(cd bob && store_listing)" "$before"
'
check "no server: push fails after its retries with a clear error and changes nothing" '
	kill "$(cat proxy.pid)" && sleep 0.3
	( cd alice && echo n > n.txt && xtrk commit-run -e flaky --model n.txt >/dev/null )
	expect_exit 1 xtrk -C alice push f 2>err
	expect_contains "$(cat err)" "after 8 tries"
	expect_not_contains "$(cat err)" "$AWS_SECRET_ACCESS_KEY"
	expect_not_contains "$(cat err)" "$AWS_ACCESS_KEY_ID"
'
finish
