#!/bin/sh
# The stress harness: run every tests/stress/*.sh at full strength and write the figures to
# tests/stress/RESULTS.md. `make check-stress` calls this; `make check` runs the same scripts quick.
#
#   tests/stress/run.sh [--asan-build DIR]   DIR: a tree built with --enable-asan --enable-fault-injection,
#                                            whose xtrk also runs the allocation sweep (leaks by LSan)
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${XTRK_TEST_BUILDDIR:-$src}
asan=
[ "${1:-}" = --asan-build ] && asan=$(cd "$2" && pwd)
out=$src/tests/stress/RESULTS.md
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export XTRK_STRESS=full XTRK_TEST_SRCDIR=$src XTRK_TEST_BUILDDIR=$build
export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1
export LSAN_OPTIONS=suppressions=$src/tests/lsan.supp:print_suppressions=0
status=0
for t in crash concurrency faults alloc; do
	start=$(date +%s)
	XTRK_BIN=${XTRK_BIN:-$build/xtrk} sh "$src/tests/stress/$t.sh" > "$log.$t" 2>&1 || status=1
	echo "$t: $(grep -c '^ok' "$log.$t") ok, $(grep -c '^not ok' "$log.$t") not ok, $(( $(date +%s) - start )) s" >&2
done
if [ -n "$asan" ]; then
	start=$(date +%s)
	XTRK_BIN=$asan/xtrk XTRK_TEST_BUILDDIR=$asan sh "$src/tests/stress/alloc.sh" > "$log.alloc-asan" 2>&1 || status=1
	echo "alloc under ASan: $(grep -c '^ok' "$log.alloc-asan") ok, $(grep -c '^not ok' "$log.alloc-asan") not ok, $(( $(date +%s) - start )) s" >&2
fi
{
	echo "# Stress results"
	echo
	echo "Figures from the last full run of \`make check-stress\` (tests/stress/run.sh$([ -n "$asan" ] && echo " --asan-build DIR")),"
	echo "$(date -u +%Y-%m-%d), commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?'), on $(nproc) cores ($(uname -sr))."
	echo "\`make check\` runs the same scripts in quick mode (a sample of each)."
	echo
	echo "| script | figure | result |"
	echo "| --- | --- | --- |"
	for f in "$log".*; do
		t=${f##*.}
		res=$(grep -q '^not ok' "$f" && echo FAILED || echo passed)
		grep '^# figure: ' "$f" | sed "s/^# figure: //; s/|/\\\\|/g; s/^/| $t | /; s/\$/ | $res |/"
	done
	echo
	echo "Reproduce one: \`XTRK_STRESS=full XTRK_BIN=\$PWD/xtrk XTRK_TEST_SRCDIR=\$PWD XTRK_TEST_BUILDDIR=\$PWD sh tests/stress/NAME.sh\`."
	echo "The allocation sweep under AddressSanitizer needs a second tree built with"
	echo "\`./configure --enable-asan --enable-fault-injection\`; pass it as \`tests/stress/run.sh --asan-build DIR\`."
	echo
	echo "What the figures mean:"
	echo
	echo "- crash: SIGKILL at random moments of each command, and at each store operation (write, fsync,"
	echo "  rename) of an import and a push through tests/helpers/faults.so; after each, fsck is clean,"
	echo "  every run reported as committed is present, and every file under a final name is whole."
	echo "- concurrency: 16 writers committing to one experiment at once, round after round, with two"
	echo "  readers running log (JSON, parsed) and show throughout."
	echo "- faults: ENOSPC and EIO at each write, fsync and rename of an import and a push."
	echo "- alloc: the Nth allocation fails, for every N of a small commit-run: shim mode (every library's"
	echo "  allocations, libgit2's own skipped because libgit2 1.5.1 itself crashes in git_config_snapshot"
	echo "  when they fail) and wrapped mode under ASan (xtrk's and jansson's allocations, with leak checking)."
} > "$out"
for f in "$log".*; do grep -q '^not ok' "$f" && { echo "--- $f"; cat "$f"; }; done
rm -f "$log".*
exit $status
