#!/bin/sh
# The harness itself: any failing command of a check block fails the block, wherever it stands;
# skips are counted as skips; the closing line and exit status say so.
. "$(dirname "$0")/lib.sh"

# inner SCRIPT [VAR=VALUE...]: a test file that uses lib.sh, run in its own process (with those
# variables set); its output and status are what we look at.
inner() {
	printf '. "%s/tests/cli/lib.sh"\n%s\nfinish\n' "$XTRK_TEST_SRCDIR" "$1" > inner.sh
	shift
	set +e
	env XTRK_TEST_FAIL_FAST=0 "$@" XTRK_BIN="$XTRK_BIN" sh inner.sh > inner.out 2>&1
	echo $? > inner.rc
	set -e
}

check "a failing first command fails the block, though the last succeeds" '
	inner "check first '\''false; true'\''"
	expect_eq "$(cat inner.rc)" 1
	grep -q "^not ok 1 - first" inner.out
	grep -qx "0 passed, 1 failed, 0 skipped" inner.out
'

check "a failing command in the middle fails the block" '
	inner "check middle '\''true; test 1 = 2; true'\''"
	expect_eq "$(cat inner.rc)" 1
	grep -q "^not ok 1 - middle" inner.out
'

check "a failing assertion fails the block" '
	inner "check assert '\''expect_eq a b; true'\''"
	expect_eq "$(cat inner.rc)" 1
	grep -q "expected .b., got .a." inner.out
'

check "a failing command on the left of a pipe fails the block" '
	inner "check pipe '\''false | cat; true'\''"
	expect_eq "$(cat inner.rc)" 1
'

check "a failing command substitution in an assignment fails the block" '
	inner "check subst '\''x=\$(false); true'\''"
	expect_eq "$(cat inner.rc)" 1
'

check "a passing block passes, and the file exits 0" '
	inner "check fine '\''true; expect_eq a a'\''"
	expect_eq "$(cat inner.rc)" 0
	grep -q "^ok 1 - fine" inner.out
	grep -qx "1 passed, 0 failed, 0 skipped" inner.out
'

check "a skipped block is counted as a skip, not a pass" '
	inner "check one '\''true'\''
check two '\''skip no widget here; false'\''"
	expect_eq "$(cat inner.rc)" 0
	grep -q "^ok 2 # skip two (no widget here)" inner.out
	grep -qx "1 passed, 0 failed, 1 skipped" inner.out
'

check "a file whose every block skipped exits 77 (Automake: SKIP)" '
	inner "check one '\''skip nothing to do'\''"
	expect_eq "$(cat inner.rc)" 77
'

check "skip_all skips the whole file with exit 77" '
	inner "skip_all no widget
check never '\''false'\''"
	expect_eq "$(cat inner.rc)" 77
	grep -q "^ok 1 # skip no widget" inner.out
	! grep -q "never" inner.out
'

check "XTRK_TEST_FAIL_FAST=1: the first failed block ends the file, exit 1" '
	inner "check one '\''true'\''
check two '\''false'\''
check three '\''true'\''" XTRK_TEST_FAIL_FAST=1
	expect_eq "$(cat inner.rc)" 1
	grep -q "^not ok 2 - two" inner.out
	! grep -q "three" inner.out
	grep -qx "1 passed, 1 failed, 0 skipped" inner.out
'

finish
