#!/bin/sh
# Kill -9 at random moments during commit-run, again and again; the store must stay consistent.
. "$(dirname "$0")/lib.sh"

new_ws
mkdir -p data
i=0; while [ $i -lt 300 ]; do head -c 2000 /dev/urandom > data/f$i; i=$((i+1)); done
base=$(xtrk commit-run -e base -d data -m "before the storm")
echo "$base" > committed

ROUNDS=${XTRK_CRASH_ROUNDS:-12}
survived=0
r=0
while [ $r -lt $ROUNDS ]; do
	r=$((r+1))
	# A new large model each round (so objects are really written) and a changed dataset file.
	head -c 24000000 /dev/urandom > model.bin
	head -c 2000 /dev/urandom > data/f$((r % 300))
	xtrk commit-run -e crash -p round=$r -d data --model model.bin > out.$r 2>/dev/null &
	pid=$!
	# Sleep 0-299 ms, then kill without warning.
	sleep "0.$(printf '%03d' $(( $(od -An -N2 -tu2 /dev/urandom) % 300 )))"
	kill -9 $pid 2>/dev/null && survived=$((survived+1))
	wait $pid 2>/dev/null
	if [ -s out.$r ]; then cat out.$r >> committed; fi
done
echo "# $survived of $ROUNDS commit-runs were killed midway"

check "fsck --read-data is clean after the kills" '
	xtrk fsck --read-data
'
check "every run reported as committed is present and readable" '
	for id in $(cat committed); do
		xtrk show --json $id >/dev/null
		xtrk cat-object $id >/dev/null
	done
'
check "the run from before is intact, with its dataset" '
	expect_eq "$(xtrk show --json base | json_get id)" "$base"
	expect_eq "$(xtrk show --json base | json_get message)" "before the storm"
	expect_eq "$(xtrk show --json base | json_get datasets.0.files)" 300
'
check "no object under its final name is partial (every header and size checks)" '
	xtrk fsck 2>err
	expect_contains "$(cat err)" "0 problems"
'
check "log lists every committed run; any extra was completed just before its kill" '
	xtrk log --json | python3 -c "import json,sys; print(chr(10).join(r[\"id\"] for r in json.load(sys.stdin)))" > listed
	for id in $(cat committed); do grep -qx $id listed; done
	# A run whose ref was written but whose ID was not yet printed is complete, not partial.
	for id in $(cat listed); do xtrk show --json $id >/dev/null; done
'
check "a commit after the kills works and reuses what is there" '
	id=$(xtrk commit-run -e after -d data --model model.bin)
	xtrk fsck --read-data
	expect_eq "$(xtrk show --json $id | json_get models.0.id)" "$(xxhsum -H2 model.bin | cut -d" " -f1)"
'
finish
