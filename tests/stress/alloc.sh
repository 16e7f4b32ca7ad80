#!/bin/sh
# Allocation failure: each allocation of a small commit-run fails in turn. Never a crash; either a
# clear error (exit 1, "xtrk: error:") or the very same run as without the failure; the store
# fsck-clean after each. With the fault-injection build under ASan (--enable-asan
# --enable-fault-injection) LeakSanitizer also proves that no failure path leaks.
#
#   XTRK_STRESS=quick|full   quick tries ~20 points spread over the commit, full tries every one
#   XTRK_STRESS_STEP=N       full mode: every Nth point instead (tests/stress/run.sh sets it)
. "$(dirname "$0")/../cli/lib.sh"

STRESS=${XTRK_STRESS:-quick}
ALLOCSHIM=$XTRK_TEST_BUILDDIR/tests/helpers/allocfail.so
if nm "$XTRK_BIN" 2>/dev/null | grep -q __wrap_malloc; then
	mode=wrapped   # built-in injection (our code and jansson); leaks caught by LSan when built with ASan
	export LSAN_OPTIONS="${LSAN_OPTIONS:-}:exitcode=23"
elif [ -f "$ALLOCSHIM" ]; then
	mode=shim      # every library's allocations; libgit2's own OOM crashes are reported, not ours
else
	skip_all "no allocation-failure injection built"
fi

mkdir ws && cd ws
new_git_repo
new_ws
mkdir data && echo a > data/a && echo b > data/b && printf 'lr: 0.1\n' > params.yaml && echo w > model.bin
echo "# tweak" >> train.py
commit() {
	if [ $mode = shim ]; then LD_PRELOAD=$ALLOCSHIM xtrk commit-run -e a -P params.yaml -d data --model model.bin --seed 3 "$@"
	else xtrk commit-run -e a -P params.yaml -d data --model model.bin --seed 3 "$@"; fi
}
norm() { xtrk show a --json | python3 "$XTRK_TEST_SRCDIR/tests/stress/norm.py"; }
XTRK_TEST_MALLOC_COUNT=$TRASH/count commit >/dev/null 2>&1
total=$(cat "$TRASH/count")
norm > "$TRASH/want.json"
rm -f .xtrk/refs/experiments/a/*
step=${XTRK_STRESS_STEP:-1}
[ "$STRESS" = full ] || step=$(( total / 20 + 1 ))
echo "# mode $mode: a commit makes $total allocations; trying every ${step}th"

tried=0 errors=0 same=0 crashes=0 upstream=0 leaks=0 bad=0
n=1
while [ $n -le $total ]; do
	set +e
	XTRK_TEST_MALLOC_FAIL=$n XTRK_TEST_MALLOC_SKIP=${XTRK_STRESS_SKIP-libgit2} commit >"$TRASH/out" 2>"$TRASH/err"
	rc=$?
	tried=$((tried + 1))
	case $rc in
	0)
		if norm > "$TRASH/got.json" 2>/dev/null && cmp -s "$TRASH/want.json" "$TRASH/got.json"; then same=$((same + 1))
		else bad=$((bad + 1)); echo "# $n: exit 0 but a different run:"; diff "$TRASH/want.json" "$TRASH/got.json" | head -5 | sed 's/^/#   /'; fi ;;
	1)
		if grep -q "xtrk: error:" "$TRASH/err"; then errors=$((errors + 1))
		else bad=$((bad + 1)); echo "# $n: exit 1 without a clear error: $(head -c 200 "$TRASH/err")"; fi ;;
	23)
		if grep -q "ERROR: LeakSanitizer" "$TRASH/err"; then leaks=$((leaks + 1)); echo "# $n: leak"
		else crashes=$((crashes + 1)); echo "# $n: sanitizer error"; fi
		grep -A30 "ERROR: [A-Za-z]*Sanitizer\|runtime error" "$TRASH/err" | sed 's/^/#   /' | head -40 ;;
	*)
		if grep -q "allocfail: crash in libgit2" "$TRASH/err" ||
		   { grep -q "allocfail: crash in libc" "$TRASH/err" && sed -n 2p "$TRASH/err" | grep -q "from libc" &&
		     grep -m1 "allocfail:   from lib[^c]" "$TRASH/err" | grep -q libgit2; }; then upstream=$((upstream + 1))
		else crashes=$((crashes + 1)); echo "# $n: exit $rc"; head -20 "$TRASH/err" | sed 's/^/#   /'; fi ;;
	esac
	xtrk fsck -q || { bad=$((bad + 1)); echo "# $n: fsck found problems"; }
	rm -f .xtrk/refs/experiments/a/*
	n=$((n + step))
done
echo "# figure: alloc.$mode: $tried of $total allocation points failed in turn: $errors clear errors, $same identical runs, $crashes crashes, $leaks leaks, $upstream crashes inside libgit2, $bad wrong"
check "every failed allocation gives a clear error or the same run" '[ $bad -eq 0 ]'
check "no crash in xtrk" '[ $crashes -eq 0 ]'
check "no leak (LeakSanitizer, in the fault-injection build)" '[ $leaks -eq 0 ]'
finish
