#!/bin/sh
# The run index: kept up to date by commit, import and pull; safe with concurrent writers; a cache
# that can be deleted, damaged or stale without changing any answer.
. "$(dirname "$0")/lib.sh"

new_ws
for i in 1 2 3 4 5 6; do xtrk commit-run -e base --seed $i -p lr=0.$i --metric acc=0.$i >/dev/null 2>&1; done
answer() { xtrk log --where "params.lr >= 0.3" --sort -metrics.acc --format csv --columns id,seed,params.lr,metrics.acc; }
want=$(answer)

check "commit-run adds a segment; log answers from the index" '
	ls .xtrk/index/seg-*.idx >/dev/null
	expect_eq "$(echo "$want" | sed 1d | cut -d, -f2 | tr "\n" " ")" "6 5 4 3 "
'
check "a deleted index loses nothing: the next log rebuilds it" '
	rm -rf .xtrk/index
	expect_eq "$(answer)" "$want"
	ls .xtrk/index/seg-*.idx >/dev/null
'
check "a damaged segment is ignored and its runs read from their objects" '
	for f in .xtrk/index/seg-*.idx; do printf "garbage" | dd of=$f bs=1 seek=200 conv=notrunc 2>/dev/null; done
	expect_eq "$(answer)" "$want"
	xtrk fsck
'
check "runs the index lacks (a store copied in by hand, as an older xtrk left it) are found and indexed" '
	mkdir copy && cd copy && new_ws
	cp -r ../.xtrk/objects/. .xtrk/objects/ && cp -r ../.xtrk/refs/. .xtrk/refs/
	test ! -e .xtrk/index
	expect_eq "$(answer)" "$want"
	ls .xtrk/index/seg-*.idx >/dev/null
	xtrk fsck --rebuild-index 2>err
	expect_contains "$(cat err)" "rebuilt the run index: 6 runs"
'
check "runs no ref names any more are not listed, even if a segment holds them" '
	run=$(xtrk commit-run -e gone --seed 8 -p lr=0.8 >/dev/null && xtrk log -e gone --format json | json_get 0.id)
	rm -f .xtrk/refs/experiments/gone/$run
	expect_eq "$(xtrk log --where "seed == 8" --format csv --columns seed | sed 1d)" ""
'
check "many segments are merged into one on open" '
	for i in $(seq 1 20); do xtrk commit-run -e many -p i=$i >/dev/null; done
	test $(ls .xtrk/index/seg-*.idx | wc -l) -gt 16
	xtrk log >/dev/null
	expect_eq "$(ls .xtrk/index/seg-*.idx | wc -l)" 1
	expect_eq "$(xtrk log --where "experiment == \"many\"" --format csv --columns id | sed 1d | wc -l)" 20
	expect_eq "$(xtrk log --where "params.i == 20" --format json | json_get 0.params.i)" 20
'
check "concurrent commits and readers: every run is indexed, readers never fail" '
	mkdir conc && cd conc && new_ws
	( i=0; while [ $i -lt 30 ]; do xtrk log --where "params.w >= 0" >/dev/null 2>>reader.err || echo fail >> reader.err; i=$((i+1)); done ) &
	reader=$!
	for w in 1 2 3 4 5 6 7 8; do
		( for k in 1 2 3; do xtrk commit-run -e c -p w=$w -p k=$k >/dev/null || echo fail; done ) > w$w.out 2>&1 &
	done
	wait
	cat w*.out
	test ! -s reader.err
	expect_eq "$(xtrk log --where "params.w >= 1" --format csv --columns id | sed 1d | wc -l)" 24
	expect_eq "$(xtrk log --where "params.w == 8 and params.k == 3" --format csv --columns id | sed 1d | wc -l)" 1
'
check "runs imported from a bundle and pulled from a remote are in the index at once" '
	mkdir recv && cd recv && new_ws
	xtrk -C "$TRASH" bundle create -o "$TRASH/b.tar" -e base 2>/dev/null
	xtrk bundle import ../b.tar 2>/dev/null
	# with the objects out of the way, only the index can answer
	mv .xtrk/objects .xtrk/objects.away && mkdir .xtrk/objects
	expect_eq "$(xtrk log --where "seed == 4" --format csv --columns metrics.acc | sed 1d)" 0.4
	rm -rf .xtrk/objects && mv .xtrk/objects.away .xtrk/objects
	xtrk -C "$TRASH/conc" remote add r "$TRASH/remote" 2>/dev/null && xtrk -C "$TRASH/conc" push r 2>/dev/null
	xtrk remote add r "$TRASH/remote" 2>/dev/null && xtrk pull r 2>/dev/null
	mv .xtrk/objects .xtrk/objects.away && mkdir .xtrk/objects
	expect_eq "$(xtrk log --where "params.w == 2 and params.k == 2" --format csv --columns params.w | sed 1d)" 2
	rm -rf .xtrk/objects && mv .xtrk/objects.away .xtrk/objects
'
check "xtrk run and commit-run index the run they record, also one recorded as failed" '
	mkdir byrun && cd byrun && new_ws
	xtrk run -e r -p lr=0.5 -- true >/dev/null 2>&1
	set +e; xtrk run -e r -p lr=0.7 --model no-such.bin -- true >/dev/null 2>&1; rc=$?; set -e
	test $rc -ne 0
	xtrk commit-run -e c -p lr=0.9 >/dev/null
	expect_eq "$(ls .xtrk/index/seg-*.idx | wc -l)" 3
	# with the objects out of the way, only the segments these commands wrote can answer
	mv .xtrk/objects .xtrk/objects.away && mkdir .xtrk/objects
	expect_eq "$(xtrk log --where "params.lr >= 0.5" --sort params.lr --format csv --columns params.lr,status | sed 1d | tr "\n" " ")" "0.5,succeeded 0.7,failed 0.9,succeeded "
	rm -rf .xtrk/objects && mv .xtrk/objects.away .xtrk/objects
'
check "tags come from the refs, not the index" '
	run=$(xtrk log --where "seed == 3" --format json | json_get 0.id)
	echo $run > .xtrk/refs/tags/late
	expect_eq "$(xtrk log --where "tags contains \"late\"" --format csv --columns seed | sed 1d)" 3
'
finish
