#!/bin/sh
# The run index's view (.xtrk/cache/runs.view): listings answer from it only while the folders of
# run refs are as they were when it was made; a stale, damaged or lying view never changes an
# answer, and fsck reports a damaged view or a fresh one that disagrees with the refs.
. "$(dirname "$0")/lib.sh"

new_ws
for i in 1 2 3 4 5 6; do xtrk commit-run -e base --seed $i -p lr=0.$i --metric acc=0.$i >/dev/null 2>&1; done
for i in 7 8; do xtrk commit-run -e other --seed $i -p lr=0.$i --metric acc=0.$i >/dev/null 2>&1; done
xtrk tag "$(xtrk log -e base --format csv --columns id | sed -n 2p)" best
answer() { xtrk log "$@" --format csv --columns id,experiment,seed,params.lr,tags.0; }
# The answer from the refs alone: no view to answer from.
truth() { mv .xtrk/cache/runs.view view.keep 2>/dev/null; answer "$@" >truth.out; mv view.keep .xtrk/cache/runs.view 2>/dev/null; cat truth.out; }
# Rewrite the view's checksum (its last 16 bytes: XXH3-128 of all before them, as xxhsum -H2 prints it).
reseal() {
	python3 - "$1" <<'EOF'
import subprocess, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[-16:] = bytes.fromhex(subprocess.run(['xxhsum', '-H2'], input=bytes(b[:-16]), capture_output=True, check=True).stdout.split()[0].decode())
open(p, 'wb').write(b)
EOF
}
# Edit the view's runs with a Python expression over `runs` (a list of 28-byte entries), then reseal.
edit_runs() {
	python3 - .xtrk/cache/runs.view "$1" <<'EOF'
import struct, sys
p, expr = sys.argv[1], sys.argv[2]
b = open(p, 'rb').read()
magic, ver, ndirs, nsegs, nruns, strlen, size, built = struct.unpack_from('<8sIIIIQQq', b, 0)
off = 48 + 32 * ndirs + 24 * nsegs
runs = [bytearray(b[off + 28 * i: off + 28 * (i + 1)]) for i in range(nruns)]
exec(expr)
rest = b[off + 28 * nruns:-16] + bytes(16)
head = bytearray(b[:off])
struct.pack_into('<I', head, 20, len(runs))
body = head + b''.join(runs) + rest
struct.pack_into('<Q', body, 32, len(body))
open(p, 'wb').write(body)
EOF
	reseal .xtrk/cache/runs.view
}

check "a listing writes the view; answers from it are the answers from the refs" '
	rm -f .xtrk/cache/runs.view
	good=$(answer)
	test -s .xtrk/cache/runs.view
	expect_eq "$(answer)" "$good"
	expect_eq "$(answer)" "$(truth)"
	expect_eq "$(answer -e other)" "$(truth -e other)"
	expect_eq "$(answer --where "tags contains \"best\"" | sed 1d | cut -d, -f5)" "best"
	expect_eq "$(answer --where "params.lr > 0.25" --sort params.lr)" "$(truth --where "params.lr > 0.25" --sort params.lr)"
	xtrk fsck
'
check "a run committed right after a listing is listed at once, each time" '
	for i in 11 12 13 14 15; do
		xtrk log >/dev/null
		xtrk commit-run -e base --seed $i -p lr=0.$i >/dev/null 2>&1
		expect_eq "$(answer --where "seed == $i" | sed 1d | cut -d, -f3)" "$i"
	done
	expect_eq "$(answer)" "$(truth)"
	xtrk fsck
'
check "refs removed or added by hand, right after a listing or later, are seen" '
	xtrk log >/dev/null
	run=$(answer --where "seed == 15" | sed -n 2p | cut -d, -f1)
	mv .xtrk/refs/experiments/base/$run moved.ref
	expect_eq "$(answer --where "seed == 15" | sed 1d)" ""
	sleep 1
	xtrk log >/dev/null
	mv moved.ref .xtrk/refs/experiments/base/$run
	expect_eq "$(answer --where "seed == 15" | sed 1d | cut -d, -f3)" 15
	sleep 1
	xtrk log >/dev/null
	rm -rf .xtrk/refs/experiments/other
	expect_eq "$(answer --where "experiment == \"other\"" | sed 1d)" ""
	expect_eq "$(answer)" "$(truth)"
'
check "a tag added or moved is seen by the next listing" '
	xtrk log >/dev/null
	first=$(answer --where "seed == 1" | sed -n 2p | cut -d, -f1)
	xtrk tag -f "$first" best
	expect_eq "$(answer --where "tags contains \"best\"" | sed 1d | cut -d, -f3)" 1
'
check "runs changed in one experiment: only its folder is read again, the others come from the view" '
	command -v strace >/dev/null || skip "strace is not installed"
	# (LeakSanitizer cannot run under ptrace: leaks are checked by the other blocks)
	xtrk commit-run -e other --seed 31 -p lr=0.31 >/dev/null 2>&1
	sleep 1
	xtrk log >/dev/null
	xtrk commit-run -e base --seed 32 -p lr=0.32 >/dev/null 2>&1
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -e trace=openat -o trace.out "$XTRK_BIN" log --where "seed == 32" --format csv --columns seed > got
	expect_eq "$(sed 1d got)" 32
	grep -q "refs/experiments/base\"" trace.out
	expect_eq "$(grep -c "refs/experiments/other\"" trace.out)" 0
	expect_eq "$(answer)" "$(truth)"
	xtrk fsck
'
check "a run moved to another experiment by hand, one removed and one added elsewhere: the answer is the refs" '
	sleep 1
	xtrk log >/dev/null
	moved=$(answer --where "seed == 31" | sed -n 2p | cut -d, -f1)
	gone=$(answer --where "seed == 2" | sed -n 2p | cut -d, -f1)
	mv .xtrk/refs/experiments/other/$moved .xtrk/refs/experiments/base/$moved
	mv .xtrk/refs/experiments/base/$gone gone.ref
	expect_eq "$(answer --where "seed == 31" | sed 1d | cut -d, -f2)" base
	expect_eq "$(answer --where "seed == 2" | sed 1d)" ""
	expect_eq "$(answer)" "$(truth)"
	sleep 1
	xtrk log >/dev/null
	mv .xtrk/refs/experiments/base/$moved .xtrk/refs/experiments/other/$moved
	mv gone.ref .xtrk/refs/experiments/base/$gone
	expect_eq "$(answer --where "seed == 31" | sed 1d | cut -d, -f2)" other
	expect_eq "$(answer --where "seed == 2" | sed 1d | cut -d, -f3)" 2
	expect_eq "$(answer)" "$(truth)"
	xtrk fsck
'
check "an older view put back (its folders changed since) is not answered from" '
	xtrk log >/dev/null
	cp -p .xtrk/cache/runs.view old.view
	sleep 1
	xtrk commit-run -e base --seed 21 -p lr=0.21 >/dev/null 2>&1
	xtrk log >/dev/null
	cp -p old.view .xtrk/cache/runs.view
	expect_eq "$(answer --where "seed == 21" | sed 1d | cut -d, -f3)" 21
	cp -p old.view .xtrk/cache/runs.view
	expect_eq "$(answer)" "$(truth)"
	xtrk fsck
'
check "a damaged view (header, folders, segments, runs, names, checksum, cut short) is ignored; fsck reports it" '
	sleep 1
	xtrk log >/dev/null
	good=$(truth)
	size=$(wc -c < .xtrk/cache/runs.view)
	for at in 0 9 20 40 50 70 100 150 $((size - 40)) $((size - 2)); do
		cp .xtrk/cache/runs.view good.view
		flip_byte .xtrk/cache/runs.view $at
		expect_exit 3 xtrk fsck
		expect_eq "$(answer)" "$good"
		cp good.view .xtrk/cache/runs.view
	done
	head -c 100 good.view > .xtrk/cache/runs.view
	expect_exit 3 xtrk fsck
	expect_eq "$(answer)" "$good"
	xtrk fsck
	: > .xtrk/cache/runs.view
	expect_eq "$(answer)" "$good"
	rm -f .xtrk/cache/runs.view && mkdir .xtrk/cache/runs.view
	expect_eq "$(answer)" "$good"
	rmdir .xtrk/cache/runs.view
'
check "a view that lies with a right checksum: a run where its segment does not hold it is not answered from" '
	sleep 1
	xtrk log >/dev/null
	good=$(truth)
	edit_runs "runs[0][20:28], runs[1][20:28] = runs[1][20:28], runs[0][20:28]"
	expect_exit 3 xtrk fsck >err 2>&1
	expect_contains "$(cat err)" "where its segment does not hold it"
	expect_eq "$(answer)" "$good"
'
check "fsck reports a fresh view that lacks a run, lists one twice, or names a run no ref names" '
	sleep 1
	rm -f .xtrk/cache/runs.view
	xtrk log >/dev/null
	cp .xtrk/cache/runs.view good.view
	while IFS="|" read -r edit says; do
		cp good.view .xtrk/cache/runs.view
		edit_runs "$edit"
		expect_exit 3 xtrk fsck >err 2>&1
		expect_contains "$(cat err)" "$says"
	done <<-EOF
	runs.pop()|lacks run
	runs.append(runs[-1])|twice
	runs[0][0] ^= 1|which no ref names
	runs.reverse()|out of order
	EOF
	cp good.view .xtrk/cache/runs.view
	xtrk fsck
'
check "a view naming a segment that is gone is not answered from, and fsck says so" '
	good=$(truth)
	sleep 1
	xtrk log >/dev/null
	mkdir segs.keep && mv .xtrk/index/seg-*.idx segs.keep/
	expect_exit 3 xtrk fsck >err 2>&1
	expect_contains "$(cat err)" "names segment"
	expect_eq "$(answer)" "$good"
	rm -rf segs.keep
	xtrk fsck
'
check "a stray file among the experiments is warned of at every listing, and no view is made" '
	rm -f .xtrk/cache/runs.view
	echo x > .xtrk/refs/experiments/stray
	xtrk log >/dev/null 2>err1
	xtrk log >/dev/null 2>err2
	expect_contains "$(cat err1)" "stray"
	expect_contains "$(cat err2)" "stray"
	test ! -e .xtrk/cache/runs.view
	rm .xtrk/refs/experiments/stray
'
check "a store with many packs: listing opens no pack index" '
	command -v strace >/dev/null || skip "strace is not installed"
	# (LeakSanitizer cannot run under ptrace: leaks are checked by the other blocks)
	xtrk log >/dev/null
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -e trace=openat -o trace.out "$XTRK_BIN" log --where "seed >= 1" >/dev/null
	expect_eq "$(grep -c "objects/pack/pack-" trace.out)" 0
	expect_eq "$(xtrk log --where "seed == 3" --format json | json_get 0.seed)" 3
'
finish
