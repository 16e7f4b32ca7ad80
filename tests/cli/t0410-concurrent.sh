#!/bin/sh
# Concurrent commit-runs on one store all succeed and are all recorded; readers see no errors.
. "$(dirname "$0")/lib.sh"

new_ws
mkdir -p shared
i=0; while [ $i -lt 200 ]; do echo "shared $i" > shared/f$i; i=$((i+1)); done
head -c 3000000 /dev/urandom > model.bin

N=8
check "$N concurrent commit-runs to one experiment all succeed" '
	pids=""
	j=1; while [ $j -le $N ]; do
		mkdir -p own$j && echo "mine $j" > own$j/x
		xtrk commit-run -e together -p worker=$j -d shared -d own=own$j --model model.bin > id.$j 2> err.$j &
		pids="$pids $!"
		j=$((j+1))
	done
	# A reader runs the whole time and must never fail.
	k=0; while [ $k -lt 10 ]; do xtrk log >/dev/null; k=$((k+1)); done
	for p in $pids; do wait $p; done
	j=1; while [ $j -le $N ]; do grep -Eqx "[0-9a-f]{32}" id.$j || { cat err.$j; exit 1; }; j=$((j+1)); done
'
check "all $N runs are recorded" '
	expect_eq "$(xtrk log -e together --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" $N
	expect_eq "$(cat id.* | sort -u | wc -l)" $N
'
check "each run has its own param and the shared dataset" '
	t=$(xtrk show --json $(cat id.1) | json_get datasets.0.id)
	j=1; while [ $j -le $N ]; do
		js=$(xtrk show --json $(cat id.$j))
		expect_eq "$(echo "$js" | json_get params.worker)" $j
		expect_eq "$(echo "$js" | json_get datasets.0.id)" "$t"
		j=$((j+1))
	done
'
check "the store is consistent" '
	xtrk fsck --read-data
'
check "concurrent tagging of one name: exactly one wins" '
	xtrk commit-run -e tagrace --tag winner > a 2>/dev/null & p1=$!
	xtrk commit-run -e tagrace --tag winner > b 2>/dev/null & p2=$!
	wait $p1 || true; wait $p2 || true
	w=$(cat .xtrk/refs/tags/winner)
	grep -qx "$w" a || grep -qx "$w" b
	xtrk fsck
'
finish
