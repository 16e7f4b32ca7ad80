#!/bin/sh
# Remotes on S3-compatible storage, against a real server on loopback (moto_server or s3rver): add, push, pull,
# checkout byte for byte, people pushing at once, a push killed midway, large models, credentials.
. "$(dirname "$0")/lib.sh"
. "$XTRK_TEST_SRCDIR/tests/helpers/s3env.sh"

mkdir alice && cd alice
new_git_repo
new_ws
mkdir data && i=0; while [ $i -lt 40 ]; do head -c 10000 /dev/urandom > data/f$i; i=$((i+1)); done
head -c 900000 /dev/urandom > model.bin
echo "# tweak" >> train.py
a1=$(xtrk commit-run -e mnist -d data --model model.bin -p lr=0.1 --tag first)
echo x >> data/f1
a2=$(xtrk commit-run -e mnist -d data --model model.bin -p lr=0.2)
xtrk note $a2 -m "looks good" 2>/dev/null
xtrk stage $a2 staging -m "ready for review" >/dev/null 2>&1
( cd data && find . -type f -exec xxhsum -H2 {} + | sort -k2 ) > "$TRASH/want-data"
cp train.py "$TRASH/want-train.py"
cd "$TRASH"
mkdir bob && (cd bob && new_ws)

check "remote add probes the server, records the address and endpoint, never the credentials" '
	xtrk -C alice remote add team s3://team-bucket/lab/runs --endpoint "$S3_URL" --region eu-west-1 2>err
	expect_contains "$(cat err)" "s3://team-bucket/lab/runs"
	expect_eq "$(xtrk -C alice remote)" "team	s3://team-bucket/lab/runs"
	expect_eq "$(git config -f alice/.xtrk/config remote.team.endpoint)" "$S3_URL"
	expect_eq "$(git config -f alice/.xtrk/config remote.team.region)" eu-west-1
	s3obj get lab/runs/xtrk-remote.json > marker && expect_contains "$(cat marker)" "xtrk"
	expect_exit 1 xtrk -C alice remote add team s3://team-bucket/other --endpoint "$S3_URL" 2>err
	expect_contains "$(cat err)" "exists already"
'
check "bad addresses, options and missing credentials are clear errors that record nothing" '
	before=$(cat alice/.xtrk/config)
	expect_exit 1 xtrk -C alice remote add x "s3://Bad_Bucket/p" --endpoint "$S3_URL" 2>err
	expect_contains "$(cat err)" "bucket name"
	expect_exit 1 xtrk -C alice remote add x "s3://team-bucket/a/../b" --endpoint "$S3_URL" 2>err
	expect_contains "$(cat err)" "prefix"
	expect_exit 1 xtrk -C alice remote add x s3://team-bucket/p --endpoint "ftp://h" 2>err
	expect_contains "$(cat err)" "endpoint"
	expect_exit 2 xtrk -C alice remote add x "$TRASH/folder" --endpoint "$S3_URL" 2>err
	expect_exit 2 xtrk -C alice remote add x s3://team-bucket/p --color blue 2>err
	(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; export AWS_SHARED_CREDENTIALS_FILE=$TRASH/none
	 expect_exit 1 xtrk -C alice remote add x s3://team-bucket/p --endpoint "$S3_URL" 2>err)
	expect_contains "$(cat err)" "no S3 credentials"
	expect_exit 1 xtrk -C alice remote add x s3://no-such-bucket/p --endpoint "$S3_URL" 2>err
	expect_contains "$(cat err)" "NoSuchBucket"
	expect_eq "$(cat alice/.xtrk/config)" "$before"
'
check "push sends packs and large objects, then the index; a second push sends nothing" '
	: > moto.before && cp moto.log moto.before
	xtrk -C alice push team 2>err
	expect_contains "$(cat err)" "2 runs (2 new)"
	expect_contains "$(cat err)" "1 source commit"
	s3obj list lab/runs > keys
	grep "^lab/runs/index.json " keys >/dev/null
	grep "^lab/runs/objects/pack/pack-[0-9a-f]*\.pack " keys >/dev/null
	grep "^lab/runs/source/pack-[0-9a-f]*\.pack " keys >/dev/null
	expect_eq "$(grep -c "^lab/runs/objects/[0-9a-f]* " keys)" 1 # the model; 41 small files travel packed
	# what the remote holds comes from its index, never from listing the bucket
	! diff moto.before moto.log | grep "list-type\|GET /team-bucket?\|GET /team-bucket/? " >/dev/null
	xtrk -C alice push --json team > out 2>/dev/null
	expect_eq "$(json_get runs_new < out)" 0
	expect_eq "$(json_get objects_new < out)" 0
	expect_eq "$(json_get bytes_new < out)" 0
'
check "a fresh store pulls, verifies and checks out byte for byte, without the git repository" '
	mv alice/.git alice.git
	xtrk -C bob remote add team s3://team-bucket/lab/runs --endpoint "$S3_URL" --region eu-west-1 2>/dev/null
	xtrk -C bob pull team first 2>err
	expect_contains "$(cat err)" "1 run (1 new)"
	xtrk -C bob pull team 2>err
	expect_contains "$(cat err)" "2 runs (1 new)"
	xtrk -C bob fsck --read-data
	xtrk -C bob checkout $a2 -C "$TRASH/bob-out" 2>/dev/null
	( cd bob-out/data && find . -type f -exec xxhsum -H2 {} + | sort -k2 ) > got-data
	cmp want-data got-data
	cmp alice/model.bin bob-out/model.bin
	cmp want-train.py bob-out/train.py
	expect_eq "$(xtrk -C bob show first --json | json_get id)" "$a1"
	expect_contains "$(xtrk -C bob show $a2)" "looks good"
	expect_eq "$(xtrk -C bob log --where "stages contains \"staging\"" --columns id | tail -n +2 | tr -d " ")" "${a2:0:12}"
	xtrk -C bob pull --json team > out 2>/dev/null
	expect_eq "$(json_get objects_new < out)" 0
	mv alice.git alice/.git
'
check "the credentials are in no file of either store, nor in any message" '
	for f in $(find alice/.xtrk bob/.xtrk -type f); do
		if grep -l -e "$AWS_SECRET_ACCESS_KEY" -e "$AWS_ACCESS_KEY_ID" "$f"; then exit 1; fi
	done
	for k in $(s3obj list lab/runs | cut -d" " -f1); do
		s3obj get "$k" > obj
		if grep -l -e "$AWS_SECRET_ACCESS_KEY" -e "$AWS_ACCESS_KEY_ID" obj; then echo "in $k"; exit 1; fi
	done
	! grep -e "$AWS_SECRET_ACCESS_KEY" -e "$AWS_ACCESS_KEY_ID" err out
'
check "credentials from a profile in ~/.aws/credentials" '
	mkdir -p "$HOME/.aws"
	printf "[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n[lab]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profileSecret42\n" > "$HOME/.aws/credentials"
	(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; export AWS_PROFILE=lab; xtrk -C bob pull team 2>err)
	expect_contains "$(cat err)" "pulled from team"
	! grep -r -e profileSecret42 -e AKIAPROFILE bob/.xtrk
	(unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY; export AWS_PROFILE=absent
	 expect_exit 1 xtrk -C bob pull team 2>err)
	expect_contains "$(cat err)" "no S3 credentials"
	rm -rf "$HOME/.aws"
'
check "four people pushing runs of one experiment at the same time all arrive" '
	for who in p1 p2 p3 p4; do
		mkdir $who && (cd $who && new_ws && echo $who > w.txt && head -c 20000 /dev/urandom > d.bin &&
			xtrk commit-run -e mnist --model w.txt -d d.bin -p who=$who >/dev/null &&
			xtrk commit-run -e mnist --model w.txt -d d.bin -p who=$who-2 >/dev/null &&
			xtrk remote add team s3://team-bucket/lab/runs --endpoint "$S3_URL" 2>/dev/null)
	done
	for who in p1 p2 p3 p4; do xtrk -C $who push team 2>$who.err & done
	wait
	for who in p1 p2 p3 p4; do expect_contains "$(cat $who.err)" "2 runs (2 new)"; done
	mkdir carol && cd carol && new_ws && xtrk remote add team s3://team-bucket/lab/runs --endpoint "$S3_URL" 2>/dev/null
	xtrk pull team 2>/dev/null
	expect_eq "$(xtrk log -e mnist --format json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" 10
	xtrk fsck --read-data
'
check "a push killed midway names nothing; run again, it sends only what is missing" '
	mkdir big && cd big && new_ws
	git config -f .xtrk/config core.chunkThreshold 0 # two large objects, each sent alone (not chunks in one pack)
	head -c 20000000 /dev/urandom > m1.bin && head -c 20000000 /dev/urandom > m2.bin
	b=$(xtrk commit-run -e big --model m1.bin --model m2.bin)
	xtrk remote add team s3://team-bucket/lab/runs --endpoint "$S3_URL" 2>/dev/null
	n0=$(grep -c "uploadId=" ../moto.log || true)
	"$XTRK_BIN" push team 2>/dev/null & pid=$!
	# wait until the first large object is whole on the server (its multipart upload completed)
	i=0; until [ "$(sed -n "$((n0 + 1)),\$p" ../moto.log | grep -c "POST [^ ]*uploadId=[^ ]* HTTP/1.1\" 200")" -ge 1 ]; do
		i=$((i + 1)); [ $i -lt 600 ]; sleep 0.05; done
	kill -9 $pid; wait $pid 2>/dev/null || true
	# nothing names the run: a colleague sees no half-published run
	s3obj get lab/runs/index.json > idx
	expect_not_contains "$(cat idx)" "$b"
	xtrk push --json team > out 2>/dev/null
	expect_eq "$(json_get runs_new < out)" 1
	sent=$(json_get bytes_new < out)
	[ "$sent" -gt 19000000 ] && [ "$sent" -lt 30000000 ] || { echo "sent $sent bytes"; exit 1; }
	cd "$TRASH/carol" && xtrk pull team big 2>/dev/null && xtrk fsck --read-data
	xtrk checkout $b -C "$TRASH/big-out" --no-source 2>/dev/null
	cmp "$TRASH/big/m1.bin" "$TRASH/big-out/m1.bin" && cmp "$TRASH/big/m2.bin" "$TRASH/big-out/m2.bin"
'
check "a large model travels as a streamed multipart upload in bounded memory, both ways" '
	mkdir huge && cd huge && new_ws
	git config -f .xtrk/config core.chunkThreshold 0 # stored whole: one object, in parts
	head -c 120000000 /dev/urandom > big.bin # stored as it is: random bytes do not compress
	h=$(xtrk commit-run -e huge --model big.bin)
	xtrk remote add team s3://team-bucket/lab/runs --endpoint "$S3_URL" 2>/dev/null
	n0=$(grep -c "uploadId=" ../moto.log || true)
	/usr/bin/time -f %M -o rss "$XTRK_BIN" push team 2>/dev/null
	[ "$(cat rss)" -lt 65536 ] || { echo "push peak RSS $(cat rss) KiB"; exit 1; }
	# in parts: 120 MB in 8 MiB parts, and the end of the upload
	n1=$(grep -c "uploadId=" ../moto.log); [ $((n1 - n0)) -ge 16 ] || { echo "$n0 -> $n1 requests of an upload"; exit 1; }
	mkdir ../dave && cd ../dave && new_ws && xtrk remote add team s3://team-bucket/lab/runs --endpoint "$S3_URL" 2>/dev/null
	/usr/bin/time -f %M -o rss "$XTRK_BIN" pull team huge 2>/dev/null
	[ "$(cat rss)" -lt 65536 ] || { echo "pull peak RSS $(cat rss) KiB"; exit 1; }
	xtrk checkout $h -C out --no-source 2>/dev/null && cmp out/big.bin ../huge/big.bin
'
check "small objects beyond the multipart size travel as several packs below it, each one PUT, never in parts" '
	mkdir many && cd many && new_ws
	mkdir d && i=0; while [ $i -lt 48 ]; do head -c 500000 /dev/urandom > d/f$i; i=$((i+1)); done # 24 MB packed
	p=$(xtrk commit-run -e many -d d)
	xtrk remote add team s3://team-bucket/lab/many --endpoint "$S3_URL" 2>/dev/null
	n0=$(grep -c "uploadId=" ../moto.log || true)
	xtrk push team 2>/dev/null
	expect_eq "$(grep -c "uploadId=" ../moto.log || true)" "$n0"
	s3obj list lab/many/objects/ > keys
	[ "$(grep -c "^lab/many/objects/pack/pack-[0-9a-f]*\.pack " keys)" -ge 2 ] || { cat keys; exit 1; }
	awk "\$2 >= 16777216 { print; bad = 1 } END { exit bad }" keys
	expect_eq "$(grep -c "^lab/many/objects/[0-9a-f]* " keys)" 0
	mkdir ../gina && cd ../gina && new_ws && xtrk remote add team s3://team-bucket/lab/many --endpoint "$S3_URL" 2>/dev/null
	xtrk pull team 2>/dev/null && xtrk fsck --read-data
	xtrk checkout $p -C out --no-source 2>/dev/null && diff -r out/d ../many/d
'
check "push and pull of more objects than the process may hold files open, one request each" '
	mkdir fds && cd fds && new_ws
	mkdir d && i=0; while [ $i -lt 80 ]; do head -c 600000 /dev/urandom > d/f$i; i=$((i+1)); done # loose objects
	f=$(xtrk commit-run -e fds -d d)
	xtrk remote add team s3://team-bucket/lab/fds --endpoint "$S3_URL" 2>/dev/null
	(ulimit -n 48 && "$XTRK_BIN" push team 2>err) || { cat err; exit 1; }
	s3obj list lab/fds/objects/ > keys
	expect_eq "$(grep -c "^lab/fds/objects/[0-9a-f]* " keys)" 80
	mkdir ../hank && cd ../hank && new_ws && xtrk remote add team s3://team-bucket/lab/fds --endpoint "$S3_URL" 2>/dev/null
	(ulimit -n 48 && "$XTRK_BIN" pull team 2>err) || { cat err; exit 1; }
	xtrk fsck --read-data && xtrk checkout $f -C out --no-source 2>/dev/null && diff -r out/d ../fds/d
'
check "bundle create -o s3://... uploads a bundle, bundle import s3://... takes it, through a remote on that bucket" '
	xtrk -C alice bundle create -o s3://team-bucket/bundles/mnist.tar.gz --with-source -e mnist 2>err
	expect_contains "$(cat err)" "wrote s3://team-bucket/bundles/mnist.tar.gz: 2 runs"
	s3obj list bundles/ | grep "^bundles/mnist.tar.gz " >/dev/null
	ls alice/.xtrk/objects/tmp | grep s3-bundle && exit 1
	mkdir erin && cd erin && new_ws && xtrk remote add team s3://team-bucket/lab/runs --endpoint "$S3_URL" 2>/dev/null
	xtrk bundle import s3://team-bucket/bundles/mnist.tar.gz 2>err
	expect_contains "$(cat err)" "imported 2 runs (2 new)"
	xtrk checkout $a2 -C out 2>/dev/null
	cmp out/model.bin ../alice/model.bin && cmp out/train.py ../want-train.py
	# a bundle cut short on the bucket is refused as a damaged file is
	s3obj get bundles/mnist.tar.gz > b.tar.gz && head -c $(( $(stat -c %s b.tar.gz) / 2 )) b.tar.gz > bad.tar.gz
	s3obj put bundles/bad.tar.gz bad.tar.gz
	mkdir ../frank && cd ../frank && new_ws && xtrk remote add team s3://team-bucket/x --endpoint "$S3_URL" 2>/dev/null
	before=$(store_listing)
	expect_exit 1 xtrk bundle import s3://team-bucket/bundles/bad.tar.gz 2>err
	expect_eq "$(store_listing)" "$before"
	expect_exit 1 xtrk bundle import s3://team-bucket/bundles/absent.tar.gz 2>err
	expect_contains "$(cat err)" "404"
	expect_exit 1 xtrk bundle import s3://team-bucket 2>err
	expect_contains "$(cat err)" "names no file"
'
check "gc of an S3 remote keeps every run (t1250 covers what it removes); remove forgets the remote and its endpoint" '
	xtrk -C bob gc --remote team > out
	expect_contains "$(cat out)" "kept 12 runs"
	xtrk -C bob pull team 2>/dev/null
	xtrk -C bob fsck --read-data
	xtrk -C bob remote remove team
	expect_eq "$(xtrk -C bob remote)" ""
	! git config -f bob/.xtrk/config remote.team.endpoint
'
finish
