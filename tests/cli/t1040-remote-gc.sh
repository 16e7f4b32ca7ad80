#!/bin/sh
# xtrk gc --remote: a folder remote is collected as a store is (garbage goes, what any ref keeps
# stays and pulls back byte for byte, the grace period is honoured), safe against pushes running at
# the same time (they hold the remote's write lock as local writers hold the store's), and a
# hostile remote (links planted in it, refs gc does not know, not a bare store) is refused.
. "$(dirname "$0")/lib.sh"

# The workspace in a folder of its own: 'xtrk -C REM' must find the remote's store, not this one.
mkdir "$TRASH/main" && cd "$TRASH/main"
new_git_repo
new_ws
printf '*\n!*.py\n' >> .git/info/exclude
export XTRK_LOCK_TIMEOUT_MS=2000
xtrk remote add rem "$TRASH/rem" 2>/dev/null
REM=$TRASH/rem

# age PATH...: make files look three weeks old (older than the default grace period).
age() { find "$@" -type f -exec touch -d '3 weeks ago' {} +; }
age_remote() { age "$REM"/objects/[0-9a-f][0-9a-f] "$REM/objects/pack" 2>/dev/null || true; }
# on the remote's store: present ID / absent ID (a function, so that it fails a block under -e).
present() { xtrk -C "$REM" cat-object "$1" >/dev/null 2>&1; }
absent() { if present "$1"; then echo "$1 is still on the remote"; return 1; fi; }
garbage() { head -c "$1" /dev/urandom > junk && xtrk -C "$REM" hash-object -w junk; }
mkdir -p "$TRASH/keep"
commit_data() { # commit_data EXP SIZE: a run whose data/f is SIZE fresh random bytes, pushed; prints its ID
	rm -rf data && mkdir data && head -c "$2" /dev/urandom > data/f
	id=$(xtrk commit-run -e "$1" -d data) && cp data/f "$TRASH/keep/$id" && echo "$id $TRASH/keep/$id" >> "$TRASH/runs.txt" &&
		xtrk push rem "$id" 2>/dev/null && echo "$id"
}
# verify_pull LIST: a fresh workspace pulls everything from the remote; each "ID COPY [PATH]" checks out byte for byte.
verify_pull() {
	rm -rf "$TRASH/puller" && mkdir "$TRASH/puller" && (cd "$TRASH/puller" && new_ws &&
		xtrk remote add rem "$REM" 2>/dev/null && xtrk pull rem 2>/dev/null && xtrk fsck --read-data >/dev/null &&
		while read -r id copy path; do
			path=${path:-data/f}
			rm -rf "${path%/f}" && xtrk checkout --force --no-source "$id" >/dev/null &&
				cmp "$path" "$copy" || { echo "run $id does not pull back as it was"; exit 1; }
		done < "$1")
}

check 'garbage on the remote goes, what its refs keep stays, and a pull after gc checks out byte for byte' '
	a=$(commit_data a 3000); b=$(commit_data a 700000); c=$(commit_data b 5000)
	xtrk tag "$c" keeper; xtrk push rem "$c" 2>/dev/null
	g1=$(garbage 800000); g2=$(garbage 300)
	present $g1; present $g2
	age_remote
	before=$(cd .xtrk && find objects refs -type f | sort)
	out=$(xtrk gc --remote rem -v)
	echo "$out"
	expect_contains "$out" "removed object $g1"
	absent $g1; absent $g2
	present $a; present $b; present $c
	xtrk -C "$REM" fsck --read-data
	expect_eq "$(cd .xtrk && find objects refs -type f | sort)" "$before"   # this store untouched
	verify_pull "$TRASH/runs.txt"
	out=$(xtrk gc --remote=rem --prune=now --json)
	expect_contains "$out" "\"bytes_reclaimed\": 0"
'

check 'the grace period: young garbage stays; --prune moves the line; the remote may only lengthen it' '
	y=$(garbage 600000)
	xtrk gc --remote rem >/dev/null; present $y
	find "$REM/objects" -type f -name "${y#??}" -exec touch -d "10 days ago" {} +
	xtrk gc --remote rem >/dev/null; present $y
	git config -f .xtrk/config gc.pruneExpire 11.days.ago
	xtrk gc --remote rem >/dev/null; present $y
	xtrk gc --remote rem --prune=never >/dev/null; present $y
	# the remote keeps a longer grace of its own: neither this store nor --prune shortens it
	git config -f "$REM/config" gc.pruneExpire 2.weeks.ago
	xtrk gc --remote rem --prune=now >/dev/null; present $y
	git config -f "$REM/config" gc.pruneExpire 1.day.ago
	git config -f .xtrk/config gc.pruneExpire 9.days.ago
	out=$(xtrk gc --remote rem --dry-run -v)
	expect_contains "$out" "would remove object $y"
	present $y
	xtrk gc --remote rem >/dev/null; absent $y
	git config -f "$REM/config" gc.pruneExpire soon
	expect_exit 1 xtrk gc --remote rem 2>err; expect_contains "$(cat err)" "gc.pruneExpire"
	git config -f "$REM/config" --unset gc.pruneExpire
	git config -f .xtrk/config --unset gc.pruneExpire
	xtrk -C "$REM" fsck --read-data
	verify_pull "$TRASH/runs.txt"
'

check 'a push holds the remote write lock from its first object to its last ref' '
	# The run data equals an old unreferenced object on the remote: push copies only the rest, so
	# that object must not go before the run is named.
	mkdir -p pool && head -c 600000 /dev/urandom > pool/d0 && head -c 600000 /dev/urandom > pool/d1
	xtrk -C "$REM" hash-object -w pool/d0 pool/d1 >/dev/null; age_remote
	# gc in its delete window (the gate held): a push waits for it, then writes.
	flock -x "$REM/objects/txn.gate" sleep 2 & holder=$!
	sleep 0.3
	rm -rf data && mkdir data && cp pool/d0 data/f
	id=$(xtrk commit-run -e dedupe -d data)
	start=$(date +%s%N); xtrk push rem "$id" 2>/dev/null; end=$(date +%s%N)
	[ $(( (end - start) / 1000000 )) -ge 1000 ]
	wait $holder
	echo "$id $TRASH/main/pool/d0" >> "$TRASH/runs.txt"
	# A push stopped between its objects and its ref (the ref is locked): gc waits for it and deletes nothing.
	rm -rf data && mkdir data && cp pool/d1 data/f
	id=$(xtrk commit-run -e held -d data)
	mkdir -p "$REM/refs/experiments/held" && : > "$REM/refs/experiments/held/$id.lock"
	XTRK_LOCK_TIMEOUT_MS=6000 xtrk push rem "$id" 2>push.err & pusher=$!
	sleep 1.5
	expect_exit 1 xtrk gc --remote rem --prune=now --wait=1 2>err; cat err
	expect_contains "$(cat err)" "gc deleted nothing"
	present $(xtrk hash-object pool/d1)
	rm "$REM/refs/experiments/held/$id.lock"
	wait $pusher
	echo "$id $TRASH/main/pool/d1" >> "$TRASH/runs.txt"
	xtrk gc --remote rem --prune=now >/dev/null
	present $(xtrk hash-object pool/d0); present $(xtrk hash-object pool/d1)
	xtrk -C "$REM" fsck --read-data
	verify_pull "$TRASH/runs.txt"
'

check 'gc of the remote again and again while two workspaces push: every reported push is whole' '
	mkdir -p pool && n=16
	i=0; while [ $i -lt $n ]; do head -c 300000 /dev/urandom > pool/p$i; i=$((i+1)); done
	xtrk -C "$REM" hash-object -w pool/p* >/dev/null   # old garbage the pushes will dedupe against
	age_remote
	for w in 1 2; do mkdir -p "$TRASH/ws$w" && (cd "$TRASH/ws$w" && new_ws && xtrk remote add rem "$REM" 2>/dev/null); done
	: > "$TRASH/ok.txt"
	pusher() { # pusher W FIRST STEP
		local i=$2
		cd "$TRASH/ws$1"
		while [ $i -lt $n ]; do
			rm -rf d$1 && mkdir d$1 && cp "$TRASH/main/pool/p$i" d$1/f
			if id=$(xtrk commit-run -e w$1 -d d$1 2>>"$TRASH/w.err") && xtrk push rem "$id" 2>>"$TRASH/w.err"; then
				echo "$id $TRASH/main/pool/p$i d$1/f" >> "$TRASH/ok.txt"
			fi
			i=$((i + $3))
		done
	}
	pusher 1 0 2 & p1=$!
	pusher 2 1 2 & p2=$!
	gcs=0
	while kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null; do
		xtrk gc --remote rem --prune=now >/dev/null 2>>gc.err || true
		gcs=$((gcs + 1))
	done
	wait
	echo "# $gcs gc runs while $(wc -l < "$TRASH/ok.txt") pushes succeeded"
	cat "$TRASH/w.err" gc.err 2>/dev/null | head -5
	[ "$(wc -l < "$TRASH/ok.txt")" -eq $n ]
	[ $gcs -ge 3 ]
	xtrk gc --remote rem --prune=now >/dev/null
	xtrk -C "$REM" fsck --read-data
	cat "$TRASH/ok.txt" >> "$TRASH/runs.txt"
	verify_pull "$TRASH/runs.txt"
'

check 'the source packs pushed into the remote source.git are left alone' '
	ls "$REM/source.git/objects/pack" | grep "\.pack$" >/dev/null || skip "no source pack was pushed"
	before=$(ls "$REM/source.git/objects/pack")
	age "$REM/source.git"
	xtrk gc --remote rem --prune=now >/dev/null
	expect_eq "$(ls "$REM/source.git/objects/pack")" "$before"
'

# hostile REM-RELATIVE-PATH: replace it with a link to a folder outside holding a victim file
# named as an old unreferenced object would be; gc must refuse and touch nothing outside.
check 'a remote with a link planted in it is refused, and nothing outside it is touched' '
	n=0
	for p in objects objects/pack objects/tmp objects/FAN refs refs/experiments refs/tags source.git; do
		rm -rf "$TRASH/outside" && mkdir "$TRASH/outside"
		g=$(garbage 2000); age_remote
		fan=$(echo $g | cut -c1-2)
		p=$(echo $p | sed "s/FAN/$fan/")
		cp -a "$REM/$p" "$TRASH/saved" 2>/dev/null || true
		cp -a "$REM/$p/." "$TRASH/outside/" 2>/dev/null || true
		age "$TRASH/outside"
		rm -rf "$REM/$p" && ln -s "$TRASH/outside" "$REM/$p"
		listing=$(cd "$TRASH/outside" && find . -printf "%p %s\n" | sort)
		expect_exit 1 xtrk gc --remote rem --prune=now 2>err
		expect_contains "$(cat err)" "symbolic link"
		expect_contains "$(cat err)" "rem/$p"
		expect_eq "$(cd "$TRASH/outside" && find . -printf "%p %s\n" | sort)" "$listing"
		expect_exit 1 xtrk -C "$REM" gc --prune=now 2>err   # the same store named directly
		expect_contains "$(cat err)" "symbolic link"
		expect_exit 1 xtrk gc --remote rem --dry-run 2>/dev/null
		rm "$REM/$p" && mv "$TRASH/saved" "$REM/$p" 2>/dev/null || mkdir -p "$REM/$p"
		rm -rf "$TRASH/saved"
		n=$((n+1))
	done
	expect_eq $n 8
	# a link to a file in place of an object or a ref
	echo keep > "$TRASH/outside/victim"; age "$TRASH/outside"
	run=$(head -n1 "$TRASH/runs.txt" | cut -d" " -f1)
	for p in objects/ab/cdef0123456789abcdef0123456789 refs/tags/evil; do
		mkdir -p "$(dirname "$REM/$p")"
		ln -s "$TRASH/outside/victim" "$REM/$p"
		expect_exit 1 xtrk gc --remote rem --prune=now 2>err
		expect_contains "$(cat err)" "symbolic link"
		expect_eq "$(cat "$TRASH/outside/victim")" keep
		rm "$REM/$p"
	done
	xtrk gc --remote rem --prune=now >/dev/null
	absent $g
	xtrk -C "$REM" fsck --read-data
'

check 'refs gc does not know, or refs that lie, make it refuse the remote, deleting nothing' '
	u=$(garbage 600000); age_remote
	for bad in "stash/wip" "ORIG" "experiments/x/notanid" "tags/broken"; do
		mkdir -p "$(dirname "$REM/refs/$bad")"
		case $bad in *notanid|*broken) echo "not an id" > "$REM/refs/$bad";; *) echo "$u" > "$REM/refs/$bad";; esac
		expect_exit 1 xtrk gc --remote rem --prune=now 2>err; cat err
		case $bad in stash/*) expect_contains "$(cat err)" "refs/stash";; *) expect_contains "$(cat err)" "refs/$bad";; esac
		present $u
		rm "$REM/refs/$bad"; rmdir "$REM/refs/stash" "$REM/refs/experiments/x" 2>/dev/null || true
	done
	xtrk gc --remote rem --prune=now >/dev/null; absent $u
'

check 'only a bare folder store is collected: a workspace store, a plain folder or no remote are refused' '
	mkdir -p "$TRASH/other" && (cd "$TRASH/other" && new_ws && mkdir data && head -c 100 /dev/urandom > data/f &&
		xtrk commit-run -e o -d data >/dev/null)
	xtrk remote add ws "$TRASH/other/.xtrk" 2>/dev/null
	before=$(store_listing "$TRASH/other")
	expect_exit 1 xtrk gc --remote ws --prune=now 2>err; cat err
	expect_contains "$(cat err)" "not a folder store"
	expect_eq "$(store_listing "$TRASH/other")" "$before"
	git config -f "$REM/config" core.bare false
	expect_exit 1 xtrk gc --remote rem --prune=now 2>err
	expect_contains "$(cat err)" "not a folder store"
	git config -f "$REM/config" core.bare true
	mkdir -p "$TRASH/plain/objects"; git config -f .xtrk/config remote.plain.path "$TRASH/plain"
	expect_exit 1 xtrk gc --remote plain 2>err; expect_contains "$(cat err)" "not a folder store"
	expect_exit 1 xtrk gc --remote nosuch 2>err; expect_contains "$(cat err)" "no remote named"
	expect_exit 2 xtrk gc --remote 2>/dev/null
	xtrk -C "$REM" fsck --read-data
'

finish
