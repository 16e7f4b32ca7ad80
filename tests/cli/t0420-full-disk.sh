#!/bin/sh
# A full disk at any point of a commit: a clear error, exit 1, the store unchanged and fsck-clean.
. "$(dirname "$0")/lib.sh"

need_shim

new_ws
mkdir data
i=0; while [ $i -lt 50 ]; do head -c 5000 /dev/urandom > data/f$i; i=$((i+1)); done
head -c 3000000 /dev/urandom > model.bin
first=$(xtrk commit-run -e ok -m first)

for budget in 0 100 40000 200000 1500000 2990000 3200000 3400000; do
	check "ENOSPC after $budget bytes: clean failure, store unchanged" '
		before=$(store_listing)
		set +e
		err=$(LD_PRELOAD=$SHIM XTRK_TEST_ENOSPC_AFTER='$budget' xtrk commit-run -e full -d data --model model.bin 2>&1)
		rc=$?
		set -e
		if [ $rc -eq 0 ]; then
			# The whole commit fitted in the budget: then it must be complete.
			xtrk fsck --read-data
			exit 0
		fi
		expect_eq $rc 1
		expect_contains "$err" "xtrk: error:"
		expect_contains "$err" "No space left on device"
		expect_eq "$(store_listing)" "$before"
		xtrk fsck --read-data
		expect_eq "$(ls .xtrk/objects/tmp | wc -l)" 0
	'
done
check "the earlier run is intact and a later commit succeeds" '
	expect_eq "$(xtrk show --json ok | json_get id)" "$first"
	xtrk commit-run -e full -d data --model model.bin >/dev/null
	xtrk fsck --read-data
'
finish
