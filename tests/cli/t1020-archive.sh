#!/bin/sh
# xtrk archive: runs move out to a verified bundle; gc then keeps nothing for them; show says where
# they are; bundle import brings them back byte for byte; bad targets and runs are refused without a
# change; a kill -9 at any point leaves every run live or archived, never lost.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
printf '*\n!*.py\n' >> .git/info/exclude

age() { find "$@" -type f -exec touch -d '3 weeks ago' {} +; }
age_store() { age .xtrk/objects/[0-9a-f][0-9a-f] .xtrk/objects/pack 2>/dev/null || true; }
present() { xtrk cat-object "$1" >/dev/null 2>&1; }
absent() { if present "$1"; then echo "$1 is still in the store"; return 1; fi; }
mkdir -p keep
# commit_data EXP SIZE: a run whose data/f is SIZE fresh random bytes (data/shared is the same in all); prints its ID
head -c 50000 /dev/urandom > shared
commit_data() {
	rm -rf data && mkdir data && head -c "$2" /dev/urandom > data/f && cp shared data/shared
	id=$(xtrk commit-run -e "$1" -d data --metric "loss=0.$2") && cp data/f "keep/$id" && echo "$id"
}
# same ID: run ID checks out with data/f byte for byte as committed (and the shared file)
same() {
	rm -rf data && xtrk checkout --force --no-source "$1" >/dev/null && cmp data/f "keep/$1" && cmp data/shared shared
}
# blob_of ID: the object ID of data/f in run ID's dataset (read while the run is in the store)
blob_of() { xtrk hash-object "keep/$1"; }
refs_listing() { find .xtrk/refs -type f | sort; }

check 'archive, gc, import: the runs leave, their objects go, and they come back byte for byte' '
	a1=$(commit_data a 300000); a2=$(commit_data a 200000); b1=$(commit_data b 100000)
	f1=$(blob_of $a1); f2=$(blob_of $a2)
	out=$(xtrk archive -e a -o arch.tar.gz 2>&1); echo "$out"
	expect_contains "$out" "archived 2 runs"
	# out of listings, queries and ID prefixes
	log=$(xtrk log); expect_not_contains "$log" "${a1%????????????????????}"; expect_contains "$log" "${b1%????????????????????}"
	q=$(xtrk log --where "metrics.loss > 0" --format json); expect_not_contains "$q" "$a2"
	# gc knows refs/archived and keeps nothing for the archived runs
	age_store
	xtrk gc --prune=now >/dev/null
	absent $f1; absent $f2; absent $a1; absent $a2
	xtrk fsck --read-data
	same $b1
	# show says where they are, with the SHA-256 of the file
	sha=$(sha256sum arch.tar.gz | cut -d" " -f1)
	out=$(xtrk show ${a1%????????????????????????}); echo "$out"
	expect_contains "$out" "is archived"; expect_contains "$out" "$TRASH/arch.tar.gz"; expect_contains "$out" "$sha"
	expect_contains "$out" "xtrk bundle import"
	expect_eq "$(xtrk show --json $a2 | json_get archived.sha256)" "$sha"
	expect_eq "$(xtrk show --json $a2 | json_get archived.path)" "$TRASH/arch.tar.gz"
	expect_eq "$(xtrk archive --list | wc -l)" 2
	out=$(xtrk archive -o again.tar ${a1%????????????????????????} 2>&1) && exit 1
	expect_contains "$out" "already archived in $TRASH/arch.tar.gz"; test ! -e again.tar
	# import brings every byte back and clears the mark
	xtrk bundle import arch.tar.gz
	expect_eq "$(xtrk archive --list | wc -l)" 0
	same $a1; same $a2; same $b1
	expect_contains "$(xtrk log -e a)" "${a2%????????????????????}"
	xtrk fsck --read-data
	test ! -e .xtrk/refs/archived/a
'

check 'archive --where selects by query; --list --json; notes travel in the bundle and come back' '
	w1=$(commit_data w 1000); w2=$(commit_data w 2000); w3=$(commit_data w 3000)
	xtrk note $w3 -m "kept for the record" >/dev/null
	xtrk archive --where "metrics.loss >= 0.2000" -e w -o w.tar >/dev/null
	l=$(xtrk archive --list --json)
	expect_contains "$l" "$w2"; expect_contains "$l" "$w3"; expect_not_contains "$l" "$w1"
	expect_eq "$(echo "$l" | json_get 0.sha256)" "$(sha256sum w.tar | cut -d" " -f1)"
	test ! -e .xtrk/refs/notes/$w3
	age_store; xtrk gc --prune=now >/dev/null; absent $w3
	xtrk bundle import w.tar >/dev/null
	same $w2; same $w3
	expect_contains "$(xtrk note $w3)" "kept for the record"
'

check 'refused, changing nothing: a path in the store, an existing file, removed, tagged or unknown runs' '
	r=$(commit_data r 4000); t=$(commit_data r 5000); gone=$(commit_data r 6000)
	xtrk tag $t best; xtrk rm $gone 2>/dev/null
	echo precious > exists.tar; ln -s .xtrk storelink; mkdir -p sub
	before=$(refs_listing)
	expect_exit 2 xtrk archive -o .xtrk/in-store.tar $r
	expect_exit 2 xtrk archive -o storelink/objects/x.tar $r
	expect_exit 2 xtrk archive -o sub/../.xtrk/refs/y.tar $r
	expect_exit 2 xtrk archive -o exists.tar $r
	expect_eq "$(cat exists.tar)" precious
	expect_exit 2 xtrk archive -o t.tar $t
	expect_exit 2 xtrk archive -o g.tar $gone
	expect_exit 2 xtrk archive -o g.tar $r $gone
	expect_exit 2 xtrk archive -o u.tar ffffffffffffffffffffffffffffffff
	expect_exit 2 xtrk archive -o nodir/x.tar $r
	expect_exit 2 xtrk archive -o sub $r
	expect_exit 2 xtrk archive $r
	expect_exit 2 xtrk archive -o x.tar
	expect_eq "$(refs_listing)" "$before"
	test ! -e t.tar; test ! -e g.tar; test ! -e u.tar; test ! -e .xtrk/in-store.tar
	# --force replaces a plain file, but never the recorded archive of archived runs
	xtrk archive --force -o exists.tar $r 2>/dev/null
	xtrk bundle verify exists.tar >/dev/null
	expect_exit 2 xtrk archive --force -o exists.tar $t
	xtrk tag -d best; before=$(refs_listing)
	expect_exit 2 xtrk archive --force -o exists.tar $t
	expect_eq "$(refs_listing)" "$before"
	xtrk bundle import exists.tar >/dev/null; same $r
'

check 'import of another file than the recorded archive warns; a damaged archive is refused, the mark stays' '
	s=$(commit_data s 70000)
	xtrk bundle create -o other.tar $s 2>/dev/null
	xtrk archive -o s.tar $s 2>/dev/null
	cp s.tar damaged.tar
	# a byte in the middle of the data file (what the run reads back), not in the run book or the report
	off=$(python3 -c "import tarfile,sys; m=[m for m in tarfile.open(sys.argv[1]) if m.name.endswith(\".blob\")][0]; print(m.offset_data + m.size // 2)" damaged.tar)
	flip_byte damaged.tar "$off"
	age_store; xtrk gc --prune=now >/dev/null; absent $s
	expect_exit 1 xtrk bundle import damaged.tar 2>/dev/null
	expect_contains "$(xtrk archive --list)" "$s"
	out=$(xtrk bundle import other.tar 2>&1); echo "$out"
	expect_contains "$out" "is not the archive recorded for run $s"
	expect_contains "$out" "$(sha256sum s.tar | cut -d" " -f1)"
	same $s
	expect_eq "$(xtrk archive --list | wc -l)" 0
	# the recorded file itself: no warning
	xtrk archive -o s2.tar $s 2>/dev/null; age_store; xtrk gc --prune=now >/dev/null
	out=$(xtrk bundle import s2.tar 2>&1); expect_not_contains "$out" "not the archive"
	same $s
'

check 'damaged archive records: listed as damaged, never an obstacle to bringing a run back; gc refuses a stranger' '
	d=$(commit_data d 8000)
	xtrk archive -o d.tar $d 2>/dev/null
	cp .xtrk/refs/archived/d/$d saved-record
	for bad in "not json" "{}" "{\"path\": \"/x\", \"sha256\": \"zz\", \"bytes\": 1, \"time\": 1}" \
		"{\"path\": 7, \"sha256\": \"$(printf %064d 0)\", \"bytes\": 1, \"time\": 1}"; do
		printf "%s\n" "$bad" > .xtrk/refs/archived/d/$d
		out=$(xtrk archive --list 2>&1) && { echo "listed a damaged record: $out"; exit 1; }
		expect_contains "$out" "is not an archive record"
	done
	age_store; xtrk gc --prune=now >/dev/null; absent $d
	out=$(xtrk bundle import d.tar 2>&1); echo "$out"
	expect_contains "$out" "cannot be read"
	same $d
	test ! -e .xtrk/refs/archived/d/$d
	mkdir -p .xtrk/refs/archived/d && echo hello > .xtrk/refs/archived/d/stranger
	expect_exit 1 xtrk gc --prune=now
	rm .xtrk/refs/archived/d/stranger
	xtrk gc --prune=now >/dev/null
	# a target named through ./ is recorded by its absolute path
	xtrk archive -o ./d2.tar $d 2>/dev/null; expect_eq "$(xtrk show --json $d | json_get archived.path)" "$TRASH/d2.tar"
	xtrk bundle import d2.tar >/dev/null; same $d
'

check 'a read error on the archive after writing, or a full disk while writing it: nothing is archived' '
	[ -f "$SHIM" ] || skip "the fault shim was not built"
	e=$(commit_data e 20000); before=$(refs_listing)
	expect_exit 1 env XTRK_TEST_EIO_PATH=eio-arch LD_PRELOAD=$SHIM "$XTRK_BIN" archive -o eio-arch.tar $e
	test ! -e eio-arch.tar
	mkdir -p full/.xtrk
	expect_exit 1 env XTRK_TEST_ENOSPC_AFTER=5000 LD_PRELOAD=$SHIM "$XTRK_BIN" archive -o full/.xtrk/a.tar $e
	test ! -e full/.xtrk/a.tar
	expect_eq "$(refs_listing)" "$before"
	same $e
'

check 'kill -9 at every write, sync and rename of archive: each run live or archived, never lost' '
	[ -f "$SHIM" ] || skip "the fault shim was not built"
	# the shim counts what touches a .xtrk folder: the archive goes into one (not the store) to count its writes too
	mkdir -p out/.xtrk
	k=$(commit_data k 9000)
	rm -f points; XTRK_TEST_COUNT=$TRASH/points LD_PRELOAD=$SHIM xtrk archive -o out/.xtrk/count.tar $k 2>/dev/null
	total=$(wc -l < points); echo "$total points"; [ "$total" -ge 6 ]
	xtrk bundle import out/.xtrk/count.tar >/dev/null
	n=1; archived=0; live=0
	while [ $n -le $((total + 1)) ]; do
		k=$(commit_data k$n $((9000 + n)))
		set +e; XTRK_TEST_FAULT=kill:$n LD_PRELOAD=$SHIM xtrk archive -o out/.xtrk/k$n.tar $k >/dev/null 2>&1; rc=$?; set -e
		[ $rc -eq 137 ] || [ $rc -eq 0 ] || { echo "kill at $n: exit $rc"; exit 1; }
		inexp=$(ls .xtrk/refs/experiments/k$n/$k 2>/dev/null || true)
		inarch=$(ls .xtrk/refs/archived/k$n/$k 2>/dev/null || true)
		[ -n "$inexp$inarch" ] || { echo "kill at $n: run $k is neither listed nor archived"; exit 1; }
		if [ -n "$inarch" ]; then xtrk bundle verify out/.xtrk/k$n.tar >/dev/null; archived=$((archived+1)); fi
		if [ -n "$inexp" ]; then live=$((live+1)); fi
		echo "$k $n" >> killed.txt
		n=$((n+1))
	done
	echo "archived $archived, live $live"; [ $archived -ge 1 ]; [ $live -ge 1 ]
	# then gc, and every run is there or comes back from its archive byte for byte
	age_store; xtrk gc --prune=now >/dev/null; xtrk fsck --read-data
	while read -r k n; do
		if [ -e .xtrk/refs/archived/k$n/$k ]; then xtrk bundle import out/.xtrk/k$n.tar >/dev/null; fi
		same $k
	done < killed.txt
'

check 'kill -9 at random moments while archiving a large run: never lost' '
	for round in 1 2 3 4 5; do
		z=$(commit_data z$round 3000000)
		"$XTRK_BIN" archive -o z$round.tar.gz $z >/dev/null 2>&1 & pid=$!  # the program itself, so that the kill reaches it
		sleep 0.$(( (round * 37) % 9 ))$(( round % 10 ))
		kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
		if [ -e .xtrk/refs/archived/z$round/$z ]; then
			xtrk bundle verify z$round.tar.gz >/dev/null
			age_store; xtrk gc --prune=now >/dev/null
			xtrk bundle import z$round.tar.gz >/dev/null
		else
			test -e .xtrk/refs/experiments/z$round/$z
		fi
		same $z
	done
	xtrk fsck --read-data
'

finish
