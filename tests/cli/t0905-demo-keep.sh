#!/bin/sh
# contrib/quickstart.sh demo: says where its workspace is; removes it at the end, or keeps it with
# --keep.  Run from a copy of the script beside the built program, with the package check and the
# build stood in for (nothing is installed or built here).
. "$(dirname "$0")/lib.sh"

command -v xxhsum >/dev/null || skip_all "no xxhsum (the tour checks a model's ID with it)"
mkdir -p qs/contrib/demo bin tmp
cp "$XTRK_TEST_SRCDIR/contrib/quickstart.sh" qs/contrib/
cp "$XTRK_TEST_SRCDIR/contrib/demo/train.py" qs/contrib/demo/
ln -s "$XTRK_BIN" qs/xtrk
# A configured tree, so that the script's build step only runs make (a no-op here).
touch qs/configure.ac qs/Makefile.am && sleep 0.01 && touch qs/configure && chmod +x qs/configure && touch qs/Makefile
printf '#!/bin/sh\nprintf "install ok installed"\n' > bin/dpkg-query
printf '#!/bin/sh\nexit 0\n' > bin/make
chmod +x bin/dpkg-query bin/make
demo() { PATH="$TRASH/bin:$PATH" TMPDIR="$TRASH/tmp" bash qs/contrib/quickstart.sh demo "$@"; }

check "demo --keep: the tour runs, and its workspace is kept and named" '
	demo --keep >out 2>err || { cat out err; false; }
	ws=$(ls -d tmp/xtrk-demo.*)
	expect_contains "$(cat err)" "the demo workspace is kept: $TRASH/$ws"
	expect_eq "$(tail -1 err | cut -c1-7)" "    cd "
	test -d "$ws/.xtrk"
	expect_eq "$(cd "$ws" && xtrk log --format json | json_get 0.experiment)" linreg
	expect_eq "$(git -C "$ws/restored" rev-parse HEAD)" "$(git -C "$ws" rev-parse HEAD)"
	rm -rf tmp/xtrk-demo.*
'
check "demo: the workspace is named first, then removed at the end, saying so" '
	demo >out 2>err || { cat out err; false; }
	expect_eq "$(ls tmp)" ""
	first=$(grep -n "the demo workspace: " err)
	expect_contains "$first" "the demo workspace: $TRASH/tmp/xtrk-demo."
	expect_contains "$first" "removed at the end; demo --keep keeps it"
	test "${first%%:*}" -lt "$(grep -n "==> xtrk init" err | cut -d: -f1)"
	expect_contains "$(tail -1 err)" "is removed (contrib/quickstart.sh demo --keep keeps it)"
'
check "demo with an unknown option: usage, exit 2, nothing made" '
	expect_exit 2 demo --bogus 2>err
	expect_contains "$(cat err)" "usage:"
	expect_exit 2 demo --keep extra 2>/dev/null
	expect_eq "$(ls tmp)" ""
'
finish
