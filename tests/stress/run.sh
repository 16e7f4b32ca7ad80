#!/bin/sh
# The stress harness: run tests/stress/*.sh at full strength, keep each one's output in
# tests/stress/logs/NAME.log, and write the figures of every log there to tests/stress/RESULTS.md.
# `make check-stress` calls this; `make check` runs the same scripts quick.
#
#   tests/stress/run.sh [--asan-build DIR] [NAME...]
#       NAME...   only these scripts (crash concurrency faults alloc alloc-asan); the others' last
#                 logs are kept
#       DIR       a tree built with --enable-asan --enable-fault-injection, whose xtrk runs the
#                 allocation sweep again with LeakSanitizer (log alloc-asan)
#   XTRK_STRESS_ALLOC_STEP=N   try every Nth allocation point (default 1; 5 under ASan)
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${XTRK_TEST_BUILDDIR:-$src}
asan=
if [ "${1:-}" = --asan-build ]; then asan=$(cd "$2" && pwd); shift 2; fi
names=${*:-crash concurrency faults alloc}
logs=$src/tests/stress/logs
out=$src/tests/stress/RESULTS.md
mkdir -p "$logs"
export XTRK_STRESS=full XTRK_TEST_SRCDIR=$src XTRK_TEST_BUILDDIR=$build
export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1
export LSAN_OPTIONS=suppressions=$src/tests/lsan.supp:print_suppressions=0
status=0
run() { # NAME BIN BUILDDIR SCRIPT
	start=$(date +%s)
	XTRK_BIN=$2 XTRK_TEST_BUILDDIR=$3 sh "$src/tests/stress/$4.sh" > "$logs/$1.log" 2>&1 || status=1
	echo "($(( $(date +%s) - start )) s)" >> "$logs/$1.log"
	echo "$1: $(grep -c '^ok' "$logs/$1.log") ok, $(grep -c '^not ok' "$logs/$1.log") not ok, $(( $(date +%s) - start )) s" >&2
}
for t in $names; do
	[ "$t" = alloc-asan ] && continue
	XTRK_STRESS_STEP=${XTRK_STRESS_ALLOC_STEP:-} run "$t" "${XTRK_BIN:-$build/xtrk}" "$build" "$t"
done
if [ -n "$asan" ] && { [ $# -eq 0 ] || echo " $names " | grep -q " alloc-asan "; }; then
	XTRK_STRESS_STEP=${XTRK_STRESS_ALLOC_STEP:-5} run alloc-asan "$asan/xtrk" "$asan" alloc
fi
{
	echo "# Stress results"
	echo
	echo "Figures from the last full run of each script (\`make check-stress\`, which runs"
	echo "\`tests/stress/run.sh\`; logs in tests/stress/logs/), $(date -u +%Y-%m-%d), commit"
	echo "$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?'), on $(nproc) cores ($(uname -sr))."
	echo "\`make check\` runs the same scripts in quick mode (a sample of each)."
	echo
	echo "| script | figure | result | time |"
	echo "| --- | --- | --- | ---: |"
	for f in "$logs"/*.log; do
		[ -f "$f" ] || continue
		t=$(basename "$f" .log)
		res=$(grep -q '^not ok' "$f" && echo FAILED || echo passed)
		secs=$(tail -n 1 "$f" | sed -n 's/^(\([0-9]*\) s)$/\1 s/p')
		grep -o '# figure: .*' "$f" | sed "s/^# figure: //; s/|/\\\\|/g; s/^/| $t | /; s/\$/ | $res | $secs |/"
	done
	echo
	echo "Reproduce one: \`XTRK_STRESS=full XTRK_BIN=\$PWD/xtrk XTRK_TEST_SRCDIR=\$PWD XTRK_TEST_BUILDDIR=\$PWD sh tests/stress/NAME.sh\`,"
	echo "or \`tests/stress/run.sh NAME\` to refresh its row. The allocation sweep under AddressSanitizer needs"
	echo "a second tree built with \`./configure --enable-asan --enable-fault-injection\`:"
	echo "\`make check-stress ASAN_BUILD=DIR\`."
	echo
	echo "What the figures mean:"
	echo
	echo "- crash: SIGKILL at random moments of each command, and at each store operation (write, fsync,"
	echo "  rename) of an import and a push through tests/helpers/faults.so; after each, fsck is clean,"
	echo "  every run reported as committed is present, and every file under a final name is whole."
	echo "- concurrency: 16 writers committing to one experiment at once, round after round, with two"
	echo "  readers running log (JSON, parsed) and show throughout."
	echo "- faults: ENOSPC and EIO at each write, fsync and rename of an import and a push (commit-run's"
	echo "  are swept by tests/cli/t0430-fault-points.sh in make check)."
	echo "- alloc: the Nth allocation of a small commit-run fails, N stepping through the whole commit: shim"
	echo "  mode (tests/helpers/allocfail.so: every library's allocations; libgit2's own are skipped, because"
	echo "  libgit2 1.5.1 itself crashes in git_config_snapshot when they fail) and, as alloc-asan, the"
	echo "  fault-injection build under ASan (xtrk's and jansson's allocations, with leak checking)."
} > "$out"
for t in $names ${asan:+alloc-asan}; do grep -q '^not ok' "$logs/$t.log" && { echo "--- $t"; grep -v '^ok' "$logs/$t.log" | head -40; }; done
exit $status
