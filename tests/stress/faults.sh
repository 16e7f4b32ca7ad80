#!/bin/sh
# Disk errors in the commands that write a store: ENOSPC and EIO at each write, fsync and rename of
# a bundle import and of a push (and of a report, whose file must be whole or absent) (commit-run has the same in tests/cli/t0430-fault-points.sh):
# each time exit 1 with "xtrk: error:" (or 0 when only the run index, a cache, could not be
# written), the store fsck-clean, and every run in it whole: the store is as it was, or holds the
# complete new runs when the fault came after their refs (a folder fsync after the rename).
#
#   XTRK_STRESS=quick|full   a sample of the points, or every one
. "$(dirname "$0")/../cli/lib.sh"
need_shim

STRESS=${XTRK_STRESS:-quick}
export XTRK_LOCK_TIMEOUT_MS=200 TRASH XTRK_BIN
mkdir src && cd src && new_ws
mkdir data && i=0; while [ $i -lt 40 ]; do head -c 3000 /dev/urandom > data/f$i; i=$((i+1)); done
head -c 2000000 /dev/urandom > model.bin
xtrk commit-run -e e -d data --model model.bin >/dev/null 2>&1
xtrk bundle create -o "$TRASH/b.tar" -e e 2>/dev/null
cd "$TRASH"
injected=0 problems=0 errors0=0
# whole STORE: fsck clean, and every run its refs name reads back whole.
whole() {
	"$XTRK_BIN" -C "$1" fsck -q || return 1
	for ref in $(find "$1/refs/experiments" -type f ! -name "*.lock" 2>/dev/null); do
		"$XTRK_BIN" -C "$1" show --json "$(basename "$ref")" >/dev/null 2>&1 || return 1
	done
}
note() { problems=$((problems + 1)); echo "# $*"; }

# sweep NAME SETUP CMD CHECK: count the points of CMD, then fail each kind at each point in turn.
sweep() {
	name=$1 setup=$2 cmd=$3 check_store=$4
	eval "$setup"
	XTRK_TEST_COUNT=$TRASH/points.$name LD_PRELOAD=$SHIM sh -c "$cmd" >/dev/null 2>&1
	for kind in write fsync rename; do
		count=$(grep -c "^$kind\$" "$TRASH/points.$name" || true)
		step=1; [ "$STRESS" = full ] || step=$(( count / 4 + 1 ))
		n=1
		while [ $n -le $count ]; do
			for errno in ENOSPC EIO; do
				eval "$setup"
				set +e
				XTRK_TEST_FAULT=$kind:$n XTRK_TEST_FAULT_ERRNO=$errno LD_PRELOAD=$SHIM sh -c "$cmd" >/dev/null 2>"$TRASH/err"
				rc=$?
				injected=$((injected + 1))
				case $rc in
				0) [ $kind != fsync ] || note "$name: $kind $n ($errno): exit 0 after a failed fsync" ;;
				1) grep -q "xtrk: error:" "$TRASH/err" || note "$name: $kind $n ($errno): no clear error: $(head -c 200 "$TRASH/err")" ;;
				*) note "$name: $kind $n ($errno): exit $rc" ;;
				esac
				[ $rc -eq 0 ] && errors0=$((errors0 + 1))
				eval "$check_store" || note "$name: $kind $n ($errno): store check failed"
			done
			n=$((n + step))
		done
	done
}

sweep import 'rm -rf "$TRASH/dst" && mkdir "$TRASH/dst" && (cd "$TRASH/dst" && new_ws)' \
	'"$XTRK_BIN" -C "$TRASH/dst" bundle import "$TRASH/b.tar"' \
	'whole "$TRASH/dst/.xtrk"'
sweep push 'rm -rf "$TRASH/shared" && "$XTRK_BIN" -C "$TRASH/src" remote remove r 2>/dev/null; "$XTRK_BIN" -C "$TRASH/src" remote add r "$TRASH/shared/.xtrk" 2>/dev/null' \
	'"$XTRK_BIN" -C "$TRASH/src" push r' \
	'whole "$TRASH/shared/.xtrk"'
# A report: the file is the whole page or absent (never part of one), and no temporary file stays.
mkdir "$TRASH/pages"
"$XTRK_BIN" -C "$TRASH/src" report -o "$TRASH/want.html" 2>/dev/null
XTRK_TEST_FAULT_UNDER=/pages/ sweep report 'rm -f "$TRASH"/pages/r.html*' \
	'"$XTRK_BIN" -C "$TRASH/src" report -o "$TRASH/pages/r.html"' \
	'{ [ ! -e "$TRASH/pages/r.html" ] || cmp -s "$TRASH/pages/r.html" "$TRASH/want.html"; } && [ -z "$(ls "$TRASH/pages" | grep "^r.html.tmp")" ]'
echo "# figure: faults: $injected ENOSPC/EIO faults injected at the writes, fsyncs and renames of an import ($(wc -l < "$TRASH/points.import") points), a push ($(wc -l < "$TRASH/points.push") points) and a report ($(wc -l < "$TRASH/points.report") points): $((injected - errors0)) clear errors, $errors0 successes where only the index (a cache) failed, $problems problems"
check "faults were injected at every kind of point" '[ $injected -gt 0 ]'
check "every fault: exit 1 and a clear error (or 0 when only the index failed), the store fsck-clean, every run whole" '[ $problems -eq 0 ]'
finish
