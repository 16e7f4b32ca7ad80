#!/bin/sh
# make check-valgrind: the CLI tests that exercise every command (not the ones that preload a
# fault shim or time kills) with every xtrk process under valgrind memcheck; then a summary.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${XTRK_TEST_BUILDDIR:-$src}
logs=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-valgrind.XXXXXX")
TESTS=${XTRK_VALGRIND_TESTS:-"t0001-init t0010-hash-object t0100-commit-run t0110-commit-run-params
	t0120-commit-run-data t0130-commit-run-source t0150-commit-run-rules t0200-log t0210-show
	t0220-revisions t0300-fsck t0310-cat-object t0500-diff t0510-status t0520-checkout t0600-run
	t0700-bundle t0710-bundle-hostile t0715-hostile-checkout t0720-remote t0800-query t0810-index t0820-export t0830-lineage"}
export XTRK_REAL_BIN=$build/xtrk XTRK_BIN=$src/tests/helpers/valgrind-xtrk.sh XTRK_VALGRIND_LOGS=$logs
export XTRK_TEST_SRCDIR=$src XTRK_TEST_BUILDDIR=$build
failed=0
for t in $TESTS; do
	start=$(date +%s)
	if sh "$src/tests/cli/$t.sh" > "$logs/$t.tap" 2>&1; then r=ok; else r=FAILED; failed=$((failed + 1)); fi
	echo "$t: $r ($(grep -c '^ok' "$logs/$t.tap") ok, $(grep -c '^not ok' "$logs/$t.tap") not ok, $(( $(date +%s) - start )) s)"
done
procs=$(ls "$logs"/vg.* 2>/dev/null | wc -l)
bad=$(for f in "$logs"/vg.*; do [ -s "$f" ] && echo "$f"; done | wc -l)
echo "valgrind memcheck: $procs xtrk processes, $bad with a leak or an invalid access; $failed test files failed"
for f in "$logs"/vg.*; do [ -s "$f" ] && { echo "--- $f"; head -40 "$f"; }; done | head -200
for t in $TESTS; do grep -q '^not ok' "$logs/$t.tap" && { echo "--- $t"; grep -A8 '^not ok' "$logs/$t.tap" | head -40; }; done
rm -rf "$logs"
[ "$bad" -eq 0 ] && [ "$failed" -eq 0 ]
