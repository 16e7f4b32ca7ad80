#!/bin/sh
# An S3 server that ignores conditional writes (the fault proxy strips If-Match and If-None-Match):
# 'remote add' finds it out and the remote takes a lock object; people pushing at once all arrive;
# a stale lock is broken, a live one makes a push give up clearly and change nothing.
. "$(dirname "$0")/lib.sh"
. "$XTRK_TEST_SRCDIR/tests/helpers/s3env.sh"

proxy nocond || skip_all "the fault proxy did not start"

# make_store NAME N: a store with N runs of experiment "team", each with its own data and model.
make_store() {
	mkdir "$1" && (cd "$1" && new_ws && mkdir data &&
		i=0; while [ $i -lt "$2" ]; do
			head -c 3000 /dev/urandom > data/f$i; head -c 200000 /dev/urandom > model.bin
			xtrk commit-run -e team -d data --model model.bin -p who="$1" -p i=$i >/dev/null || exit 1
			i=$((i + 1))
		done)
}
for s in p1 p2 p3 p4; do make_store $s 2; done
mkdir reader && (cd reader && new_ws)

check "remote add finds that the server ignores conditional writes and sets the lock object" '
	xtrk -C p1 remote add l s3://team-bucket/l --endpoint "$PROXY" 2>err
	expect_contains "$(cat err)" "lock object"
	expect_eq "$(git config -f p1/.xtrk/config remote.l.lock)" true
	xtrk -C p1 remote add direct s3://team-bucket/d --endpoint "$S3_URL" 2>err
	if [ "$S3_SERVER" = moto ]; then # honours conditional writes
		expect_not_contains "$(cat err)" "lock object"
		expect_eq "$(git config -f p1/.xtrk/config remote.direct.lock || echo none)" none
	else # s3rver ignores them: the lock object, without the proxy too
		expect_contains "$(cat err)" "lock object"
		expect_eq "$(git config -f p1/.xtrk/config remote.direct.lock)" true
	fi
	xtrk -C p1 remote remove l
	expect_eq "$(git config -f p1/.xtrk/config remote.l.lock || echo gone)" gone
	xtrk -C p1 remote add l s3://team-bucket/l --endpoint "$PROXY" 2>/dev/null
'
check "four stores pushing at once through the lock object: every run arrives, no lock is left" '
	for s in p2 p3 p4; do xtrk -C $s remote add l s3://team-bucket/l --endpoint "$PROXY" 2>/dev/null; done
	for s in p1 p2 p3 p4; do (if xtrk -C $s push l 2>"$TRASH/$s.err"; then echo 0; else echo 1; fi > "$TRASH/$s.rc") & done
	wait
	for s in p1 p2 p3 p4; do expect_eq "$(cat $s.rc)" 0 || { cat $s.err; exit 1; }; done
	xtrk -C reader remote add l s3://team-bucket/l --endpoint "$PROXY" 2>/dev/null
	xtrk -C reader pull l 2>err
	expect_contains "$(cat err)" "8 runs (8 new)"
	expect_eq "$(xtrk -C reader log -e team --format json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" 8
	xtrk -C reader fsck --read-data
	expect_eq "$(s3obj list l/locks/)" ""
'
check "a stale lock (its writer died) is removed after remote.NAME.lockExpiry; the push goes through" '
	printf "{\"host\":\"gone\"}" > dead && s3obj put l/locks/0000dead.lock dead
	(cd p1 && head -c 200000 /dev/urandom > model.bin && xtrk commit-run -e team --model model.bin -p i=9 >/dev/null)
	git config -f p1/.xtrk/config remote.l.lockExpiry 2
	sleep 3
	xtrk -C p1 push l 2>err
	expect_contains "$(cat err)" "(1 new)"
	expect_eq "$(s3obj list l/locks/)" ""
'
check "a live lock held by someone else: push gives up naming it, and the index is unchanged" '
	git config -f p1/.xtrk/config remote.l.lockExpiry 4
	(cd p1 && head -c 200000 /dev/urandom > model.bin && xtrk commit-run -e team --model model.bin -p i=10 >/dev/null)
	s3obj get l/index.json > before
	printf "{\"host\":\"busy\"}" > live
	s3obj put l/locks/1111live.lock live
	( while [ ! -e stop ]; do s3obj put l/locks/1111live.lock live; sleep 0.2; done ) &
	holder=$!
	expect_exit 1 xtrk -C p1 push l 2>err
	touch stop; wait $holder
	expect_contains "$(cat err)" "is locked"
	expect_contains "$(cat err)" "1111live.lock"
	s3obj get l/index.json > after
	cmp before after
	s3obj delete l/locks/1111live.lock
	xtrk -C p1 push l 2>err
	expect_contains "$(cat err)" "(1 new)"
'
check "a bad lockExpiry is a clear error" '
	git config -f p1/.xtrk/config remote.l.lockExpiry soon
	expect_exit 1 xtrk -C p1 push l 2>err
	expect_contains "$(cat err)" "lockExpiry"
	git config -f p1/.xtrk/config remote.l.lockExpiry 120
'
finish
