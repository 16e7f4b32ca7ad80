#!/bin/sh
# The fuzz corpus (seeds, and every input that ever crashed a target) replayed through each target.
. "$(dirname "$0")/lib.sh"

for t in bundle tree run object path params query packscan; do
	check "fuzz target '$t' survives its corpus" '
		"$XTRK_TEST_BUILDDIR/tests/fuzz/replay_'$t'" "$XTRK_TEST_SRCDIR/tests/fuzz/corpus/'$t'" > out
		expect_contains "$(cat out)" "replayed"
	'
done
finish
