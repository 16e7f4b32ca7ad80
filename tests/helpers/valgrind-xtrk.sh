#!/bin/sh
# XTRK_BIN for `make check-valgrind`: run xtrk under valgrind memcheck, one log per process in
# $XTRK_VALGRIND_LOGS; a leak or an invalid access makes the process exit 99, so the test fails too.
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --suppressions="$XTRK_TEST_SRCDIR/tests/valgrind.supp" \
	--log-file="$XTRK_VALGRIND_LOGS/vg.%p" "$XTRK_REAL_BIN" "$@"
