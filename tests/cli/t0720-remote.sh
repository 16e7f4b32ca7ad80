#!/bin/sh
# Remotes in folders: add, push, pull, concurrent pushes to one experiment, a hostile remote.
. "$(dirname "$0")/lib.sh"

mkdir alice && cd alice
new_git_repo
new_ws
mkdir data && i=0; while [ $i -lt 10 ]; do head -c 3000 /dev/urandom > data/f$i; i=$((i+1)); done
head -c 800000 /dev/urandom > model.bin
a1=$(xtrk commit-run -e mnist -d data --model model.bin -p lr=0.1 --tag first)
echo x >> data/f1
a2=$(xtrk commit-run -e mnist -d data --model model.bin -p lr=0.2)
want_model=$(xxhsum -H2 model.bin | cut -d" " -f1)
cd "$TRASH"
mkdir bob && (cd bob && new_ws)

check "remote add creates the store in an absent folder and records the absolute path" '
	xtrk -C alice remote add shared "$TRASH/shared" 2>err
	test -d shared/objects && test -d shared/refs/experiments
	expect_eq "$(xtrk -C alice remote)" "shared	$TRASH/shared"
	expect_exit 1 xtrk -C alice remote add shared "$TRASH/other" 2>err
	expect_contains "$(cat err)" "exists already"
	mkdir notempty && echo x > notempty/file
	expect_exit 1 xtrk -C alice remote add bad "$TRASH/notempty" 2>err
	expect_contains "$(cat err)" "neither an empty folder nor an xtrk store"
	expect_exit 1 xtrk -C alice remote add "../x" "$TRASH/x" 2>/dev/null
'
check "push copies every run and object; the remote store is fsck-clean" '
	xtrk -C alice push shared 2>err
	expect_contains "$(cat err)" "2 runs (2 new)"
	test -f shared/refs/experiments/mnist/$a1 && test -f shared/refs/experiments/mnist/$a2
	test -f shared/refs/tags/first
	xtrk -C shared fsck --read-data 2>err
	expect_contains "$(cat err)" "2 runs"
	expect_eq "$(xtrk -C shared log --format json | json_get 0.id)" "$a2"
'
check "a second push copies nothing" '
	xtrk -C alice push --json shared > out 2>/dev/null
	expect_eq "$(json_get objects_new < out)" 0
	expect_eq "$(json_get runs_new < out)" 0
'
check "pull of one run by revision, then of all; everything verified and complete" '
	xtrk -C bob remote add shared "$TRASH/shared" 2>/dev/null
	xtrk -C bob pull shared first 2>err
	expect_contains "$(cat err)" "1 run (1 new)"
	expect_eq "$(xtrk -C bob log --format json | json_get 0.id)" "$a1"
	xtrk -C bob pull shared 2>/dev/null
	xtrk -C bob fsck --read-data
	xtrk -C bob checkout $a2 -C "$TRASH/bob-out" --no-source 2>/dev/null
	expect_eq "$(xxhsum -H2 bob-out/model.bin | cut -d" " -f1)" "$want_model"
	expect_eq "$(xtrk -C bob show first --json | json_get id)" "$a1"
'
check "unknown remotes and runs are clear errors that change nothing" '
	expect_exit 1 xtrk -C bob pull nowhere 2>err
	expect_contains "$(cat err)" "no remote named '"'"'nowhere'"'"'; remotes: shared"
	expect_exit 1 xtrk -C bob pull shared deadbeef 2>err
	expect_contains "$(cat err)" "deadbeef"
	expect_exit 2 xtrk -C bob push
'
check "two people pushing runs to one experiment at the same time both succeed" '
	for who in p1 p2 p3 p4; do
		mkdir $who && (cd $who && new_ws && echo $who > w.txt &&
			xtrk commit-run -e mnist --model w.txt -p who=$who >/dev/null &&
			xtrk remote add shared "$TRASH/shared" 2>/dev/null)
	done
	for who in p1 p2 p3 p4; do xtrk -C $who push shared 2>$who.err & done
	wait
	for who in p1 p2 p3 p4; do expect_contains "$(cat $who.err)" "1 run (1 new)"; done
	expect_eq "$(ls shared/refs/experiments/mnist | wc -l)" 6
	xtrk -C bob pull shared 2>/dev/null
	expect_eq "$(xtrk -C bob log -e mnist --format json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" 6
	xtrk -C bob fsck --read-data
'
check "a push killed midway leaves the remote consistent; the next push completes it" '
	mkdir big && (cd big && new_ws && head -c 30000000 /dev/urandom > m.bin && xtrk commit-run -e big --model m.bin >/dev/null &&
		xtrk remote add r2 "$TRASH/r2" 2>/dev/null)
	"$XTRK_BIN" -C big push r2 2>/dev/null & pid=$!
	sleep 0.05; kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
	xtrk -C r2 fsck # whatever the moment, no ref names a missing object
	mkdir r2check && cd r2check && new_ws && xtrk remote add r2 "$TRASH/r2" 2>/dev/null
	xtrk pull r2 2>/dev/null || true
	xtrk fsck
	cd "$TRASH"
	# A kill between taking a ref'"'"'s lock and renaming it leaves the lock, as git leaves index.lock: the
	# next push names it and changes nothing; once it is removed, as the message says, the push completes.
	if ! xtrk -C big push r2 2>push.err; then
		cat push.err
		lock=$(sed -n "s/.*'"'"'\(.*\.lock\)'"'"' is locked by another xtrk process.*/\1/p" push.err | head -n1)
		test -n "$lock" && test -f "$lock"
		rm -f "$lock"
		xtrk -C big push r2
	fi
	cd r2check && xtrk pull r2 && xtrk fsck --read-data
	expect_eq "$(xtrk log -e big --format json | json_get 0.models.0.id)" "$(xxhsum -H2 ../big/m.bin | cut -d" " -f1)"
'
check "a remote with a damaged object: pull refuses it and adds nothing" '
	mkdir evil && (cd evil && new_ws && head -c 700000 /dev/urandom > m.bin && xtrk commit-run -e ev --model m.bin >/dev/null &&
		xtrk remote add er "$TRASH/er" 2>/dev/null && xtrk push er 2>/dev/null)
	id=$(xxhsum -H2 evil/m.bin | cut -d" " -f1)
	f=er/objects/$(echo $id | cut -c1-2)/$(echo $id | cut -c3-)
	chmod u+w $f && flip_byte $f 5000
	mkdir victim && cd victim && new_ws && xtrk remote add er "$TRASH/er" 2>/dev/null
	before=$(store_listing)
	expect_exit 1 xtrk pull er 2>err
	expect_contains "$(cat err)" "$id"
	expect_eq "$(store_listing)" "$before"
'
check "a remote whose run record has a field of the wrong type is refused" '
	mkdir er2 && cp -r er/. er2/ && chmod -R u+w er2
	# a record that hashes right, filed as a run there, but whose datasets field is a string
	printf "{\"experiment\":\"ev\",\"started\":\"2026-01-01T00:00:00.000000Z\",\"datasets\":\"x\"}" > rec
	rid=$(xxhsum -H2 rec | cut -d" " -f1)
	xtrk -C er2 hash-object -w -t run rec >/dev/null
	rm -f er2/refs/experiments/ev/* && echo $rid > er2/refs/experiments/ev/$rid
	mkdir victim2 && cd victim2 && new_ws && xtrk remote add er2 "$TRASH/er2" 2>/dev/null
	before=$(store_listing)
	expect_exit 1 xtrk pull er2 2>err
	expect_contains "$(cat err)" "malformed run record"
	expect_eq "$(store_listing)" "$before"
'
finish
