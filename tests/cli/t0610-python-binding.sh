#!/bin/sh
# The Python binding (contrib/python): its unittest suite against the real xtrk program.
. "$(dirname "$0")/lib.sh"

check "contrib/python/tests/test_xtrk.py passes against the real program" '
	XTRK=$XTRK_BIN python3 "$XTRK_TEST_SRCDIR/contrib/python/tests/test_xtrk.py" -v
'
finish
