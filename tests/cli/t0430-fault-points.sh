#!/bin/sh
# Every write, fsync and rename of a commit fails in turn (ENOSPC/EIO), and a SIGKILL lands at
# each of them in turn: each time a clear error (or death), fsck clean, earlier runs intact,
# and the store either as it was or holding the complete new run.
. "$(dirname "$0")/lib.sh"

need_shim

new_git_repo
new_ws
mkdir data
i=0; while [ $i -lt 8 ]; do head -c 3000 /dev/urandom > data/f$i; i=$((i+1)); done
head -c 1500000 /dev/urandom > model.bin
printf 'lr: 0.1\n' > params.yaml
base=$(xtrk commit-run -e base -d data)
# A SIGKILL can leave a ref's .lock behind (as git leaves index.lock); do not wait long on one.
export XTRK_LOCK_TIMEOUT_MS=200
commit() { LD_PRELOAD=$SHIM xtrk commit-run -e faulty -P params.yaml -d data --model model.bin --tag t$1; }

# One clean pass through the shim counts the points to hit.
XTRK_TEST_COUNT=$TRASH/points commit 0 >/dev/null 2>&1
rm -f .xtrk/refs/experiments/faulty/* .xtrk/refs/tags/t0
writes=$(grep -c '^write$' points); fsyncs=$(grep -c '^fsync$' points); renames=$(grep -c '^rename$' points)
total=$(wc -l < points)
echo "# a commit here makes $writes writes, $fsyncs fsyncs and $renames renames in the store"

runs() { ls .xtrk/refs/experiments/faulty 2>/dev/null | grep -vc '\.lock$' || true; }

# after_fault: the command failed (or died); the store is consistent, and either unchanged or complete.
after_fault() {
	xtrk fsck -q
	made=$(runs)   # not "n": the callers loop on n
	if [ "$made" -gt 0 ]; then
		# The run made it (the fault came after its ref): it must be whole.
		xtrk show --json faulty >/dev/null
		xtrk fsck --read-data -q
		rm -f .xtrk/refs/experiments/faulty/[0-9a-f]*[0-9a-f]
	fi
}

for kind in write fsync rename; do
	eval count=\$${kind}s
	check "each of the $count ${kind}s failing in turn: exit 1 with a message, store consistent" '
		n=1
		while [ $n -le '$count' ]; do
			set +e; err=$(XTRK_TEST_FAULT='$kind':$n commit '$kind'-$n 2>&1); rc=$?; set -e
			[ $rc -eq 1 ] || [ $rc -eq 0 ] || { echo "'$kind' $n: exit $rc"; exit 1; }
			[ $rc -eq 0 ] || expect_contains "$err" "xtrk: error:"
			after_fault
			n=$((n+1))
		done
	'
done
check "SIGKILL at each of the $total store operations in turn: store consistent" '
	n=1
	while [ $n -le '$total' ]; do
		set +e; XTRK_TEST_FAULT=kill:$n commit kill-$n >/dev/null 2>&1; rc=$?; set -e
		[ $rc -eq 137 ] || [ $rc -eq 0 ] || { echo "kill at $n: exit $rc"; exit 1; }
		after_fault
		n=$((n+1))
	done
'
check "after all of that the first run is intact, a commit succeeds, the store re-hashes clean" '
	expect_eq "$(xtrk show --json base | json_get id)" "$base"
	xtrk commit-run -e faulty -P params.yaml -d data --model model.bin >/dev/null
	xtrk fsck --read-data
'
finish
