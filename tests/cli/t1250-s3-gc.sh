#!/bin/sh
# gc of an S3 remote: what killed pushes left (files no index entry names) goes after the grace
# period; named files, foreign files and young files stay; a push racing a deletion round starts
# again and arrives whole; an interrupted round is finished by the next gc; hostile "deleting"
# entries are refused.
. "$(dirname "$0")/lib.sh"
. "$XTRK_TEST_SRCDIR/tests/helpers/s3env.sh"

mkdir alice && cd alice && new_ws
mkdir data && i=0; while [ $i -lt 20 ]; do head -c 5000 /dev/urandom > data/f$i; i=$((i+1)); done
head -c 3000000 /dev/urandom > model.bin
xtrk commit-run -e g -d data --model model.bin -p k=1 >/dev/null
cd "$TRASH"
xtrk -C alice remote add g s3://team-bucket/g --endpoint "$S3_URL" 2>/dev/null
xtrk -C alice push g 2>/dev/null
mkdir bob && (cd bob && new_ws && xtrk remote add g s3://team-bucket/g --endpoint "$S3_URL" 2>/dev/null)
printf junk > junk
hex40=0123456789abcdef0123456789abcdef01234567
oid=0123456789abcdef0123456789abcdef

# index_edit PYTHON: change g/index.json behind xtrk's back (the JSON is `j`).
index_edit() {
	s3obj get g/index.json > idx.json
	python3 -c 'import json, sys
j = json.load(open("idx.json"))
exec(sys.argv[1])
json.dump(j, open("idx.json", "w"))' "$1"
	s3obj put g/index.json idx.json
}
listing() { s3obj list g/ | sort; }

check "gc keeps named files, foreign files and what is younger than the grace period; --dry-run changes nothing" '
	for k in objects/pack/pack-$hex40.pack objects/pack/pack-$hex40.idx objects/$oid source/pack-$hex40.pack \
		objects/README notes.txt; do s3obj put g/$k junk; done
	listing > l0
	xtrk -C alice gc --remote=g --json > out
	expect_eq "$(json_get temp_removed < out)" 0
	expect_eq "$(json_get kept_recent < out)" 4
	expect_eq "$(json_get runs < out)" 1
	sleep 1.1
	xtrk -C alice gc --remote=g --prune=now --dry-run --json > out
	expect_eq "$(json_get temp_removed < out)" 4
	listing > l1
	cmp l0 l1
'
check "gc --prune=now removes what no entry names, and nothing else; pull is still whole" '
	xtrk -C alice gc --remote=g --prune=now -v > out
	expect_contains "$(cat out)" "removed 0 loose objects (0 B), 0 objects from 0 packs (0 B), 4 temporary files"
	listing > l2
	for k in objects/pack/pack-$hex40.pack objects/pack/pack-$hex40.idx objects/$oid source/pack-$hex40.pack; do
		expect_not_contains "$(cat l2)" "$k"; done
	expect_contains "$(cat l2)" "g/objects/README"
	expect_contains "$(cat l2)" "g/notes.txt"
	expect_eq "$(grep -v -e README -e notes.txt -e index.json l0 | grep -v -e "$hex40" -e "$oid")" \
		"$(grep -v -e README -e notes.txt -e index.json l2)"
	s3obj get g/index.json > idx
	expect_eq "$(json_get generation < idx)" 1
	expect_not_contains "$(cat idx)" deleting
	xtrk -C bob pull g 2>err
	expect_contains "$(cat err)" "1 run (1 new)"
	xtrk -C bob fsck --read-data
'
check "a push racing a deletion round starts again, and its run arrives whole" '
	# The push is held up 4 s: on a server with conditional writes, at its write of the index (the
	# files it sent are then named nowhere); on one without, where the lock object keeps a gc from
	# changing the index while a push writes it, at the upload of its pack.
	if [ "$S3_SERVER" = moto ]; then proxy "delay@4@index.json"; else proxy "delay@4@.pack"; fi
	xtrk -C alice remote add gp s3://team-bucket/g --endpoint "$PROXY" 2>/dev/null
	(cd alice && head -c 3000000 /dev/urandom > model.bin && echo y >> data/f3 &&
	 xtrk commit-run -e g -d data --model model.bin -p k=2 >/dev/null)
	(if xtrk -C alice push gp 2>"$TRASH/push.err"; then echo 0; else echo 1; fi > "$TRASH/push.rc") &
	pusher=$!
	sleep 3
	xtrk -C alice gc --remote=g --prune=now --json > out
	wait $pusher
	expect_eq "$(cat push.rc)" 0 || { cat push.err; exit 1; }
	expect_contains "$(cat push.err)" "(1 new)"
	s3obj get g/index.json > idx
	if [ "$S3_SERVER" = moto ]; then
		expect_eq "$(json_get temp_removed < out)" 3
	else
		expect_eq "$(git config -f alice/.xtrk/config remote.gp.lock)" true
		[ "$(json_get temp_removed < out)" -ge 1 ]
	fi
	expect_eq "$(json_get generation < idx)" 2
	xtrk -C bob pull g 2>err
	expect_contains "$(cat err)" "2 runs (1 new)"
	xtrk -C bob fsck --read-data
	xtrk -C bob checkout "$(xtrk -C alice log -e g --format json | json_get 0.id)" -C "$TRASH/co" >/dev/null
	cmp co/model.bin alice/model.bin
'
check "a push needing a file an unfinished round is deleting waits, then says so and names nothing" '
	(cd alice && head -c 3000000 /dev/urandom > model.bin && xtrk commit-run -e g --model model.bin -p k=3 >/dev/null)
	m=$(xxhsum -H2 alice/model.bin | cut -d" " -f1)
	index_edit "j[\"deleting\"] = {\"objects/$m\": 1}"
	s3obj get g/index.json > before
	# the wait is as long as a lock lasts: 1 s, or 3 s where the lock object is taken (it must
	# outlast a change of the index on a loaded machine)
	git config -f alice/.xtrk/config remote.g.lockExpiry "$([ "$S3_SERVER" = moto ] && echo 1 || echo 3)"
	expect_exit 1 xtrk -C alice push g 2>err
	expect_contains "$(cat err)" "being deleted by a gc of remote"
	expect_contains "$(cat err)" "xtrk gc --remote=g"
	s3obj get g/index.json > after
	cmp before after
	git config -f alice/.xtrk/config --unset remote.g.lockExpiry
	xtrk -C alice gc --remote=g --json > out
	s3obj get g/index.json > idx
	expect_not_contains "$(cat idx)" deleting
	xtrk -C alice push g 2>err
	expect_contains "$(cat err)" "(1 new)"
	xtrk -C bob pull g 2>/dev/null
	xtrk -C bob fsck --read-data
'
check "deleting entries that are not xtrk files are refused; a named file under deleting is never deleted" '
	for bad in "index.json" "../x" "objects/pack/pack-zz.pack" "xtrk-remote.json"; do
		index_edit "j[\"deleting\"] = {\"$bad\": 1}"
		listing > before
		expect_exit 1 xtrk -C alice gc --remote=g 2>err
		expect_contains "$(cat err)" "not a file xtrk writes"
		expect_exit 1 xtrk -C bob pull g 2>err
		expect_contains "$(cat err)" "not a file xtrk writes"
		listing > after
		cmp before after
	done
	s3obj list g/objects/pack/ > packs
	named=$(head -1 packs | cut -d" " -f1 | sed "s#^g/##")
	index_edit "j[\"deleting\"] = {\"$named\": 1}"
	xtrk -C alice gc --remote=g 2>err
	expect_contains "$(s3obj list g/objects/pack/)" "$named"
	s3obj get g/index.json > idx
	expect_not_contains "$(cat idx)" deleting
	rm -rf carol && mkdir carol && cd carol && new_ws && xtrk remote add g s3://team-bucket/g --endpoint "$S3_URL" 2>/dev/null
	xtrk pull g
	xtrk fsck --read-data
'
check "a push killed during a multipart upload leaves it unfinished; gc aborts it after the grace period" '
	[ "$S3_SERVER" = moto ] || skip "$S3_SERVER cannot list multipart uploads (HTTP 501)"
	proxy "delay@30@partNumber=2"
	git config -f alice/.xtrk/config core.chunkThreshold 0 # stored whole: one object, in parts
	(cd alice && head -c 40000000 /dev/urandom > big.bin && xtrk commit-run -e g --model big.bin -p k=4 >/dev/null)
	xtrk -C alice push gp 2>/dev/null &
	pusher=$!
	sleep 3
	kill -9 $pusher
	wait $pusher || :
	# (moto answers every upload with the same Initiated time, in 2010: the grace period cannot be
	# seen here, only that the upload goes and that it went)
	sleep 1.1
	xtrk -C alice gc --remote=g --prune=now -v > out
	expect_contains "$(cat out)" "(an unfinished multipart upload)"
	xtrk -C alice gc --remote=g --prune=now -v > out
	expect_not_contains "$(cat out)" "multipart"
	proxy ""
	xtrk -C alice push g 2>err
	expect_contains "$(cat err)" "(1 new)"
	xtrk -C bob pull g 2>/dev/null
	xtrk -C bob fsck --read-data
'
check "gc reads a listing of more than one page (1000 keys): what the last page holds is found" '
	set -- ; i=0; while [ $i -lt 1005 ]; do set -- "$@" -T junk "$S3_URL/team-bucket/g/objects/a-foreign/$i"; i=$((i + 1)); done
	s3req "$@" >/dev/null
	oid2=fedcba9876543210fedcba9876543210
	s3obj put g/objects/$oid2 junk
	sleep 1.1
	xtrk -C alice gc --remote=g --prune=now --json > out
	expect_eq "$(s3obj list g/objects/a-foreign/ | wc -l)" 1005
	expect_eq "$(json_get temp_removed < out)" 1
	listing > l3
	expect_not_contains "$(cat l3)" "$oid2"
	expect_eq "$(grep -c "^g/objects/a-foreign/" l3)" 1005
'
check "a server that cannot list multipart uploads (501): gc goes on without them; any other 501 is an error" '
	oid3=0badc0de0badc0de0badc0de0badc0de
	s3obj put g/objects/$oid3 junk
	sleep 1.1
	proxy "notimpl@uploads="
	xtrk -C alice gc --remote=gp --prune=now --json > out
	expect_eq "$(json_get temp_removed < out)" 1
	expect_not_contains "$(listing)" "$oid3"
	s3obj put g/objects/$oid3 junk
	proxy "notimpl@list-type"
	expect_exit 1 xtrk -C alice gc --remote=gp --prune=now 2>err
	expect_contains "$(cat err)" "HTTP 501 NotImplemented"
	expect_contains "$(listing)" "$oid3"
	proxy ""
'
finish
