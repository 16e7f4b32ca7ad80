#!/bin/sh
# S3 remotes against a server that checks every request's signature (libcurl's SigV4): every kind of
# request xtrk makes (conditional PUTs, GET, HEAD, multipart start, parts and end) is accepted with
# the right key, and a wrong secret or key is refused as a clear error that does not show it. Only
# moto checks the signatures themselves; s3rver accepts the test key alone, whatever the signature.
. "$(dirname "$0")/lib.sh"
S3_SIGNED=1
. "$XTRK_TEST_SRCDIR/tests/helpers/s3env.sh"

mkdir alice && cd alice && new_ws
git config -f .xtrk/config core.chunkThreshold 0 # large files stored whole, so that they go up in parts
head -c 20000000 /dev/urandom > model.bin # large enough for a multipart upload
mkdir data && i=0; while [ $i -lt 5 ]; do head -c 3000 /dev/urandom > data/f$i; i=$((i+1)); done
run=$(xtrk commit-run -e signed -d data --model model.bin)
cd "$TRASH"

check "every request signed: add, push (multipart), a second push, pull, checkout" '
	xtrk -C alice remote add s s3://team-bucket/signed --endpoint "$S3_URL" 2>/dev/null
	xtrk -C alice push s 2>err
	expect_contains "$(cat err)" "1 run (1 new)"
	grep "POST /team-bucket/signed/objects/[0-9a-f]*?uploadId=[^ ]* HTTP/1.1\" 200" moto.log >/dev/null
	xtrk -C alice push s 2>err
	expect_contains "$(cat err)" "1 run (0 new)"
	mkdir bob && cd bob && new_ws && xtrk remote add s s3://team-bucket/signed --endpoint "$S3_URL" 2>/dev/null
	xtrk pull s 2>/dev/null && xtrk fsck --read-data
	xtrk checkout $run -C out --no-source 2>/dev/null && cmp out/model.bin ../alice/model.bin
	! grep " 403 " ../moto.log
'
check "a wrong secret is refused by the server: a clear error, without the secret" '
	[ "$S3_SERVER" = moto ] || skip "$S3_SERVER does not check SigV4 signatures"
	expect_exit 1 env AWS_SECRET_ACCESS_KEY=wrongSecretXYZ "$XTRK_BIN" -C bob pull s 2>err
	expect_contains "$(cat err)" "HTTP 403 SignatureDoesNotMatch"
	expect_not_contains "$(cat err)" wrongSecretXYZ
'
check "an unknown key is refused by the server: a clear error" '
	expect_exit 1 env AWS_ACCESS_KEY_ID=AKIANOSUCHKEY0000000 "$XTRK_BIN" -C alice push s 2>err
	expect_contains "$(cat err)" "HTTP 403"
	expect_not_contains "$(cat err)" "$AWS_SECRET_ACCESS_KEY"
'
finish
