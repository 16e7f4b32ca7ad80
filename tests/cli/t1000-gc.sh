#!/bin/sh
# xtrk gc: what no ref keeps goes, what any ref keeps stays (byte for byte), the grace period is
# honoured, --dry-run changes nothing, unknown refs make it refuse, and it is safe against writers
# running at the same time and against a kill -9 at any moment.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
# The scratch files below are not the runs' source: keep them out of the untracked files runs capture.
printf '*\n!*.py\n' >> .git/info/exclude
export XTRK_LOCK_TIMEOUT_MS=2000

# age PATH...: make files look three weeks old (older than the default grace period of two weeks).
age() { find "$@" -type f -exec touch -d '3 weeks ago' {} +; }
age_store() { age .xtrk/objects/[0-9a-f][0-9a-f] .xtrk/objects/pack 2>/dev/null || true; }
# present ID: the object is in the store (read and verified whole).
present() { xtrk cat-object "$1" >/dev/null 2>&1; }
# absent ID: it is not (a function, so that a failure ends a check block under -e, as `! cmd` would not).
absent() { if present "$1"; then echo "$1 is still in the store"; return 1; fi; }
# snapshot: every file of the store with its size and mtime, to compare before and after.
snapshot() { find .xtrk/objects .xtrk/refs -type f -printf '%p %s %T@\n' | sort; }
# verify_runs FILE: each "ID COPY [PATH]" line (PATH data/f by default): the run's data file checks out byte for byte.
verify_runs() {
	while read -r id copy path; do
		path=${path:-data/f}
		rm -rf "${path%/f}" && xtrk checkout --force --no-source "$id" >/dev/null &&
			cmp "$path" "$copy" || { echo "run $id does not check out as it was"; return 1; }
	done < "$1"
}
mkdir -p keep
commit_data() { # commit_data EXP SIZE: a run whose data/f is SIZE fresh random bytes; prints its ID
	rm -rf data && mkdir data && head -c "$2" /dev/urandom > data/f
	id=$(xtrk commit-run -e "$1" -d data) && cp data/f "keep/$id" && echo "$id $TRASH/keep/$id" >> runs.txt &&
		echo "$id"
}

check 'unreferenced objects (loose and packed) go; every run is kept byte for byte' '
	commit_data a 3000; commit_data a 700000; commit_data b 5000
	head -c 800000 /dev/urandom > junk-big; head -c 300 /dev/urandom > junk-small
	big=$(xtrk hash-object -w junk-big); small=$(xtrk hash-object -w junk-small)
	present $big; present $small
	age_store
	out=$(xtrk gc -v)
	echo "$out"
	expect_contains "$out" "removed object $big"
	absent $big; absent $small
	xtrk fsck --read-data
	verify_runs runs.txt
'

check 'the grace period: young garbage stays, --prune and gc.pruneExpire move the line' '
	head -c 600000 /dev/urandom > g1; g1=$(xtrk hash-object -w g1)
	xtrk gc >/dev/null; present $g1
	xtrk gc --prune=2.weeks.ago >/dev/null; present $g1
	find .xtrk/objects -type f -name "${g1#??}" -exec touch -d "10 days ago" {} +
	xtrk gc >/dev/null; present $g1
	git config -f .xtrk/config gc.pruneExpire 11.days.ago
	xtrk gc >/dev/null; present $g1
	git config -f .xtrk/config gc.pruneExpire 9.days.ago
	xtrk gc >/dev/null; absent $g1
	git config -f .xtrk/config --unset gc.pruneExpire
	head -c 600000 /dev/urandom > g2; g2=$(xtrk hash-object -w g2)
	find .xtrk/objects -type f -name "${g2#??}" -exec touch -d "10 days ago" {} +
	xtrk gc --prune=1.week.ago >/dev/null; absent $g2
	head -c 600000 /dev/urandom > g3; g3=$(xtrk hash-object -w g3)
	xtrk gc --prune=never >/dev/null; present $g3
	xtrk gc --prune=now >/dev/null; present $g3   # written before gc started, but within its second
	find .xtrk/objects -type f -name "${g3#??}" -exec touch -d "5 seconds ago" {} +
	xtrk gc --prune=now >/dev/null; absent $g3
	expect_exit 2 xtrk gc --prune=yesterday-ish
	expect_exit 2 xtrk gc -n --prune=3.fortnights.ago
	expect_exit 2 xtrk gc -n --prune=2026-13-45
	expect_exit 2 xtrk gc -n --prune=@12x
	xtrk gc -n --prune=2001-02-03 >/dev/null; xtrk gc -n --prune="2001-02-03 04:05:06" >/dev/null
	xtrk gc -n --prune=@0 >/dev/null; xtrk gc -n --prune="3 days ago" >/dev/null
	git config -f .xtrk/config gc.pruneExpire soon
	expect_exit 1 xtrk gc -n 2>err; expect_contains "$(cat err)" "gc.pruneExpire"
	git config -f .xtrk/config --unset gc.pruneExpire
	xtrk fsck --read-data
	verify_runs runs.txt
'

check '--dry-run says what would go and changes nothing' '
	head -c 600000 /dev/urandom > d1; d1=$(xtrk hash-object -w d1)
	head -c 200 /dev/urandom > d2; d2=$(xtrk hash-object -w d2)
	: > .xtrk/objects/tmp/obj-stale; age_store; age .xtrk/objects/tmp
	before=$(snapshot)
	out=$(xtrk gc --dry-run -v)
	echo "$out"
	expect_contains "$out" "would remove object $d1"
	expect_contains "$out" "would remove 1 loose object"
	expect_contains "$out" "1 temporary file"
	json=$(xtrk gc -n --json)
	expect_contains "$json" "\"dry_run\": true"
	expect_contains "$json" "\"loose_removed\": 1"
	expect_eq "$(snapshot)" "$before"
	present $d1; present $d2
	out=$(xtrk gc --json)
	expect_contains "$out" "\"temp_removed\": 1"
	absent $d1; absent $d2; [ ! -e .xtrk/objects/tmp/obj-stale ]
'

check 'a ref gc does not understand makes it refuse, deleting nothing' '
	head -c 600000 /dev/urandom > u1; u1=$(xtrk hash-object -w u1); age_store
	run=$(head -n1 runs.txt | cut -d" " -f1)
	mkdir -p .xtrk/refs/stash; echo "$u1" > .xtrk/refs/stash/wip
	expect_exit 1 xtrk gc --prune=now 2>err; cat err
	expect_contains "$(cat err)" "refs/stash"
	present $u1
	rm -r .xtrk/refs/stash
	echo "$u1" > .xtrk/refs/ORIG
	expect_exit 1 xtrk gc --prune=now; present $u1
	rm .xtrk/refs/ORIG
	echo "not an id" > .xtrk/refs/tags/broken
	expect_exit 1 xtrk gc --prune=now 2>err; expect_contains "$(cat err)" "refs/tags/broken"
	present $u1
	rm .xtrk/refs/tags/broken
	ln -s "../experiments/a/$run" .xtrk/refs/tags/linked
	expect_exit 1 xtrk gc --prune=now; present $u1
	rm .xtrk/refs/tags/linked
	xtrk gc >/dev/null; absent $u1
'

check 'a removed run is kept while its removal is younger than the grace period, then collected' '
	r1=$(commit_data gone 4000); r2=$(commit_data gone 600000); r3=$(commit_data tagged 600000)
	echo "$r3" > .xtrk/refs/tags/keepme
	xtrk rm "$r1" "$r2" "$r3" >/dev/null
	age_store
	xtrk gc >/dev/null
	present $r1; present $r2
	xtrk rm --restore "$r1" >/dev/null
	xtrk rm "$r1" >/dev/null
	age .xtrk/refs/removed
	out=$(xtrk gc --json)
	echo "$out"
	expect_contains "$out" "\"removed_runs_expired\": 2"
	absent $r1; absent $r2
	present $r3   # a tag still names it
	expect_eq "$(xtrk rm --list | cut -c1-32)" "$r3"
	grep -v -e "$r1" -e "$r2" -e "$r3" runs.txt > live.txt
	xtrk fsck --read-data
	verify_runs live.txt
	echo "$r3 $TRASH/keep/$r3" > tagged.txt; verify_runs tagged.txt
	mv live.txt runs.txt
'

check 'notes are kept with their run, and go when a removed run expires' '
	run=$(head -n1 runs.txt | cut -d" " -f1)
	xtrk note "$run" -m "first" >/dev/null
	xtrk note "$run" -m "second" >/dev/null
	n1=$(ls .xtrk/refs/notes/$run | head -n1)
	age_store
	xtrk gc >/dev/null
	xtrk note "$run" > notes.out
	expect_contains "$(cat notes.out)" "first"
	expect_contains "$(cat notes.out)" "second"
	present $n1
	xtrk fsck --read-data
	# A scratch run with a note, removed long ago: the run, its notes and their refs go.
	rm -rf data; mkdir data; head -c 3000 /dev/urandom > data/s
	sid=$(xtrk commit-run -e scratch -d data)
	xtrk note "$sid" -m "scratch" >/dev/null
	sn=$(ls .xtrk/refs/notes/$sid)
	xtrk rm "$sid" >/dev/null
	age_store; age .xtrk/refs/removed
	xtrk gc >/dev/null
	absent $sid; absent $sn
	test ! -e .xtrk/refs/notes/$sid
	xtrk fsck --read-data
'

check 'a pack that is mostly garbage is rewritten with its live objects; a mostly live one stays' '
	mkdir -p pk && i=0; while [ $i -lt 40 ]; do head -c 2000 /dev/urandom > pk/g$i; i=$((i+1)); done
	xtrk hash-object -w pk/g* >/dev/null
	rm -rf data; mkdir data; cp pk/g7 data/f
	id=$(xtrk commit-run -e packs -d data); cp data/f keep/$id; echo "$id $TRASH/keep/$id" >> runs.txt
	before=$(ls .xtrk/objects/pack | wc -l)
	age_store
	out=$(xtrk gc --json)
	echo "$out"
	expect_contains "$out" "\"pack_objects_removed\": 39"
	expect_contains "$out" "\"packs_rewritten\": 1"
	present $(xtrk hash-object pk/g7); absent $(xtrk hash-object pk/g8)
	xtrk fsck --read-data
	verify_runs runs.txt
	# Mostly live: 30 files of which 25 a run keeps; the 5 others stay where they are.
	rm -rf data && mkdir data && i=0; while [ $i -lt 30 ]; do head -c 2000 /dev/urandom > data/h$i; i=$((i+1)); done
	xtrk hash-object -w data/h* >/dev/null
	mv data/h2[5-9] pk/
	xtrk commit-run -e packs2 -d data >/dev/null
	age_store
	out=$(xtrk gc --json)
	expect_contains "$out" "\"kept_in_packs\": 5"
	present $(xtrk hash-object pk/h27)
	xtrk fsck --read-data
'

check 'a partial run (imported without its data) keeps what it has' '
	mkdir -p side && (cd side && new_ws && mkdir data && head -c 700000 /dev/urandom > data/f &&
		xtrk commit-run -e side -d data >/dev/null && xtrk bundle create --no-data -e side -o ../nodata.tar >/dev/null)
	xtrk bundle import nodata.tar >/dev/null
	ls .xtrk/refs/partial | grep . >/dev/null
	age_store
	xtrk gc --prune=now >/dev/null
	xtrk fsck --read-data
	verify_runs runs.txt
'

check 'gc waits for a write in progress and gives up deleting nothing; a writer waits out gc' '
	command -v flock >/dev/null || skip "no flock program"
	head -c 600000 /dev/urandom > l1; l1=$(xtrk hash-object -w l1); age_store
	# A writer holds the store shared (as a commit does until its refs are written).
	flock -s .xtrk/objects/txn.lock sleep 4 & holder=$!
	sleep 0.5
	expect_exit 1 xtrk gc --wait=1 2>err; cat err
	expect_contains "$(cat err)" "gc deleted nothing"
	present $l1
	wait $holder
	# gc in its delete window (the gate held exclusive): a writer waits, then writes.
	flock -x .xtrk/objects/txn.gate sleep 2 & holder=$!
	sleep 0.5
	head -c 100 /dev/urandom > l2
	start=$(date +%s%N); l2=$(xtrk hash-object -w l2); end=$(date +%s%N)
	echo "the writer waited $(( (end - start) / 1000000 )) ms"
	[ $(( (end - start) / 1000000 )) -ge 1000 ]
	present $l2
	wait $holder
	xtrk gc >/dev/null; absent $l1
'

# Writers that dedupe against garbage: a commit whose data equals an old unreferenced object finds
# it stored and writes only its record; gc must not delete that object before the run is named.
check 'gc again and again while commits and imports run: every reported run is whole' '
	mkdir -p pool bundles && n=24
	i=0; while [ $i -lt $n ]; do head -c 600000 /dev/urandom > pool/p$i; i=$((i+1)); done
	xtrk hash-object -w pool/p* >/dev/null
	(cd side && i=0; while [ $i -lt 8 ]; do rm -rf data && mkdir data && head -c 600000 /dev/urandom > data/f &&
		cp data/f "$TRASH/pool/b$i" && xtrk commit-run -e imp$i -d data >/dev/null &&
		xtrk bundle create -e imp$i -o "$TRASH/bundles/b$i.tar" >/dev/null; i=$((i+1)); done)
	xtrk hash-object -w pool/b* >/dev/null
	age_store
	: > ok.txt
	writer() { # writer NAME FIRST STEP
		local i=$2
		while [ $i -lt $n ]; do
			rm -rf w$1 && mkdir -p w$1 && cp pool/p$i w$1/f
			if id=$(xtrk commit-run -e w$1 -d w$1 2>>w.err); then
				echo "$id $TRASH/pool/p$i w$1/f" >> ok.txt
			fi
			i=$((i + $3))
		done
	}
	importer() { # importer FIRST: every other bundle from b$FIRST on
		local i=$1
		while [ $i -lt 8 ]; do
			xtrk bundle import bundles/b$i.tar >/dev/null 2>&1 && echo "b$i" >> imported.txt
			i=$((i + 2))
		done
	}
	# Eight writers at once: six committing, two importing.
	pids=""
	for w in 0 1 2 3 4 5; do writer $((w + 1)) $w 6 & pids="$pids $!"; done
	importer 0 & pids="$pids $!"
	importer 1 & pids="$pids $!"
	running() { for p in $pids; do kill -0 $p 2>/dev/null && return 0; done; return 1; }
	gcs=0
	while running; do
		xtrk gc --prune=now >/dev/null 2>>gc.err || true
		gcs=$((gcs + 1))
	done
	wait
	echo "# $gcs gc runs while $(wc -l < ok.txt) commits and $(wc -l < imported.txt) imports succeeded"
	[ "$(wc -l < ok.txt)" -eq $n ]
	[ "$(wc -l < imported.txt)" -eq 8 ]
	[ $gcs -ge 3 ]
	xtrk fsck --read-data
	cat ok.txt >> runs.txt
	verify_runs runs.txt
	for i in 0 1 2 3 4 5 6 7; do xtrk log -e imp$i | grep . >/dev/null; done
'

check 'kill -9 at any moment of gc leaves a consistent store, and the next gc finishes the job' '
	for round in 1 2 3 4 5 6; do
		mkdir -p kr && i=0; while [ $i -lt 300 ]; do head -c 700 /dev/urandom > kr/k$i; i=$((i+1)); done
		xtrk hash-object -w kr/k* >/dev/null
		cp kr/k5 data/f; xtrk commit-run -e killed$round -d data >/dev/null
		i=0; while [ $i -lt 3 ]; do head -c 600000 /dev/urandom > kr/big$i; i=$((i+1)); done
		xtrk hash-object -w kr/big* >/dev/null
		age_store
		"$XTRK_BIN" gc --prune=now >/dev/null 2>&1 & pid=$!  # the program itself, so that the kill reaches it
		sleep 0.0$(( (round * 37) % 9 ))$(( round % 10 ))
		kill -9 $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		xtrk fsck --read-data >fsck.out 2>&1 || { echo "round $round:"; grep -v "^ok" fsck.out | head -20; ls -la .xtrk/objects/pack | head -30; exit 1; }
		verify_runs runs.txt
		rm -rf kr
	done
	xtrk gc --prune=now >/dev/null
	age_store; age .xtrk/objects/tmp; xtrk gc --prune=now >/dev/null
	xtrk fsck --read-data
	out=$(xtrk gc --prune=now --json -v)
	expect_contains "$out" "\"bytes_reclaimed\": 0"
	verify_runs runs.txt
'

check 'kill -9 at each write, sync, rename and unlink of gc: the store stays whole, the next gc finishes' '
	[ -f "$SHIM" ] || skip "the fault shim was not built"
	# A template store: live runs, loose and packed garbage, a mostly-garbage pack, a removed run, a note.
	mkdir -p tpl && cd tpl && git init -q && printf "*\n!*.py\n" >> .git/info/exclude && xtrk init >/dev/null
	: > runs.txt
	for r in 1 2 3; do
		rm -rf data && mkdir data && head -c $((4000 * r)) /dev/urandom > data/f
		id=$(xtrk commit-run -e t$r -d data) && cp data/f ../keep/t$id && echo "$id $TRASH/keep/t$id" >> runs.txt
	done
	noted=$id; xtrk note "$noted" -m "kept" >/dev/null
	mkdir -p g && i=0; while [ $i -lt 12 ]; do head -c 900 /dev/urandom > g/g$i; i=$((i+1)); done
	xtrk hash-object -w g/g* >/dev/null
	# one pack mostly garbage that a run keeps one object of: gc rewrites it
	rm -rf data && mkdir data && cp g/g0 data/f
	id0=$(xtrk commit-run -e t0 -d data) && cp data/f ../keep/t$id0 && echo "$id0 $TRASH/keep/t$id0" >> runs.txt
	rm -rf data && mkdir data && head -c 5000 /dev/urandom > data/f
	gone=$(xtrk commit-run -e gone -d data) && xtrk rm "$gone" >/dev/null
	age_store; age .xtrk/refs/removed
	cd ..
	rm -rf c0 && cp -a tpl c0 && rm -f gcpoints
	(cd c0 && XTRK_TEST_COUNT=$TRASH/gcpoints LD_PRELOAD=$SHIM xtrk gc --prune=now >/dev/null)
	total=$(wc -l < gcpoints); echo "$total points: $(sort gcpoints | uniq -c | tr -s " \n" " ")"
	[ "$(grep -c "^unlink$" gcpoints)" -ge 3 ]; [ "$(grep -c "^rename$" gcpoints)" -ge 1 ]
	step=$(( (total + 39) / 40 )); n=1; kills=0
	while [ $n -le $((total + 1)) ]; do
		rm -rf c && cp -a tpl c && cd c
		set +e; XTRK_TEST_FAULT=kill:$n LD_PRELOAD=$SHIM xtrk gc --prune=now >/dev/null 2>&1; rc=$?; set -e
		[ $rc -eq 137 ] || [ $rc -eq 0 ] || { echo "kill at $n: exit $rc"; exit 1; }
		[ $rc -eq 0 ] || kills=$((kills + 1))
		xtrk fsck --read-data >/dev/null || { echo "kill at $n: fsck found problems"; xtrk fsck --read-data; exit 1; }
		verify_runs runs.txt || { echo "kill at $n"; exit 1; }
		expect_contains "$(xtrk note "$noted")" "kept"
		xtrk gc --prune=now >/dev/null
		xtrk fsck --read-data >/dev/null
		out=$(xtrk gc --prune=now --json); expect_contains "$out" "\"bytes_reclaimed\": 0"
		cd ..
		n=$((n + step))
	done
	echo "# $kills kills of gc at every ${step}th of $total points, each store whole"
	[ $kills -ge 5 ]
'

finish
