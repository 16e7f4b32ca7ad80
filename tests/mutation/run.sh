#!/bin/sh
# The mutation check: do the tests notice when the program is broken?
#
# Each tests/mutation/NAME.patch is one deliberate, realistic breakage of a file under src/ (a
# unified diff, applied with patch -p1).  Its header names the test files that must notice it,
# "Tests: FILE...", and says what it breaks, "Breaks: ...".  For each mutant this script copies the
# source tree and the current build (times kept, so the rebuild is incremental: only the patched
# file is recompiled, then libxtrk.a and xtrk are relinked) into a scratch folder, applies the patch
# (a patch that no longer applies fails the check: keep it in step with the code), runs
# `make xtrk` there, and runs each named test file against the mutant.  The file must fail (exit
# 1): one that passes (exit 0) lets the mutant survive, which is a gap in the tests, and one that
# skips (77) has not caught it either; both fail the check, naming the mutant and the file.
#
#   sh tests/mutation/run.sh [NAME...]   only these mutants (NAME: the patch's name without .patch)
#   XTRK_MUTATION_SELFTEST=1             also apply selftest/harmless.patch, which changes only a
#                                        comment: it must be reported as survived, and the check fail
#   XTRK_MUTATION_KEEP=1                 keep the scratch folder (its path is printed)
#   XTRK_MUTATION_TIMEOUT=SECONDS        limit for one test file against one mutant (default 600)
#
# make check runs it with XTRK_TEST_SRCDIR and XTRK_TEST_BUILDDIR set (an out-of-tree build works,
# and so does the --enable-asan build: the copied build keeps its flags).  The test files run with
# XTRK_TEST_FAIL_FAST=1: the first failed block settles the answer.  They are not run against the
# unmutated program here: make check does that already.
set -u

here=$(cd "$(dirname "$0")" && pwd)
S=$(cd "${XTRK_TEST_SRCDIR:-$here/../..}" && pwd -P) || exit 1
B=$(cd "${XTRK_TEST_BUILDDIR:-$S}" && pwd -P) || exit 1
mutdir=$S/tests/mutation

skip_all() {
	echo "ok 1 # skip $*"
	echo "1..1"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
}
command -v patch >/dev/null 2>&1 || skip_all "patch is not installed"
[ -f "$B/Makefile" ] && [ -x "$B/xtrk" ] || skip_all "no build in $B (run make first)"

# The mutants, as patch files.
if [ $# -eq 0 ]; then
	set -- "$mutdir"/*.patch
else
	for n; do
		shift
		set -- "$@" "$mutdir/$n.patch"
	done
fi
[ "${XTRK_MUTATION_SELFTEST:-0}" = 0 ] || set -- "$@" "$mutdir/selftest/harmless.patch"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-mutation.XXXXXX") || exit 1
if [ "${XTRK_MUTATION_KEEP:-0}" != 0 ]; then
	echo "# the scratch folder is kept: $scratch"
else
	trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
fi
trap 'exit 130' INT TERM

# under A B: A is B or lies below it.
under() { case "$1/" in "${2%/}/"*) return 0;; esac; return 1; }

# The copy mirrors the source and build folders below their common ancestor, so that relative paths
# between them (srcdir = .. or ../xtrk in the Makefile, header paths in .deps) still hold.
C=$S
while ! under "$B" "$C"; do C=$(dirname "$C"); done
rel_src=${S#"${C%/}"}
rel_build=${B#"${C%/}"}
skip_in_src= skip_in_build=
if [ "$S" != "$B" ]; then
	if under "$B" "$S"; then r=${B#"$S"/}; skip_in_src=${r%%/*}; fi
	if under "$S" "$B"; then r=${S#"$B"/}; skip_in_build=${r%%/*}; fi
fi

# copy FROM TO [SKIP]: FROM's entries into TO, times and modes kept; never .git or autom4te.cache.
copy() {
	mkdir -p "$2" || return 1
	for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		case ${f##*/} in .git|autom4te.cache|"${3:-/}") continue;; esac
		cp -a "$f" "$2/" || return 1
	done
}

# build TREE_SRC TREE_BUILD: make xtrk in the copy, outside any make that started us.
build() {
	(
		unset MAKEFLAGS MFLAGS MAKELEVEL
		cd "$2" || exit 1
		if [ "$S" = "$B" ]; then
			${MAKE:-make} -s xtrk
		else
			${MAKE:-make} -s srcdir="$1" top_srcdir="$1" VPATH="$1" abs_srcdir="$1" abs_top_srcdir="$1" xtrk
		fi
	)
}

limit=
command -v timeout >/dev/null 2>&1 && limit="timeout ${XTRK_MUTATION_TIMEOUT:-600}"

n=0 npass=0 nfail=0
ok() { n=$((n + 1)); npass=$((npass + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); nfail=$((nfail + 1)); echo "not ok $n - $*"; }
note() { sed 's/^/#   /' "$@"; }

for p; do
	name=${p##*/}
	name=${name%.patch}
	if [ ! -f "$p" ]; then
		not_ok "mutant $name: no such patch ($p)"
		continue
	fi
	tests=$(sed -n 's/^Tests: *//p' "$p" | head -n 1)
	file=$(sed -n 's|^+++ b/\([^	]*\).*|\1|p' "$p" | head -n 1)
	if [ -z "$tests" ] || [ -z "$file" ]; then
		not_ok "mutant $name: the patch has no 'Tests:' line or no '+++ b/FILE' line"
		continue
	fi
	work=$scratch/$name
	tree=$work/tree
	mS=$tree$rel_src
	mB=$tree$rel_build
	log=$work/log
	mkdir -p "$work"
	t0=$(date +%s)
	if ! { copy "$S" "$mS" "$skip_in_src" && { [ "$S" = "$B" ] || copy "$B" "$mB" "$skip_in_build"; }; } >"$log" 2>&1; then
		not_ok "mutant $name: cannot copy the tree into $work"
		note "$log"
		continue
	fi
	chmod -R u+w "$tree" # a read-only source tree (make distcheck) must take the patch
	if ! (cd "$mS" && patch -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch -r - <"$p") >"$log" 2>&1; then
		not_ok "mutant $name: the patch no longer applies to $file; bring tests/mutation/$name.patch in step with the code"
		note "$log"
		continue
	fi
	touch "$mS/$file"
	if ! build "$mS" "$mB" >"$log" 2>&1; then
		not_ok "mutant $name: the mutant does not build"
		note "$log"
		continue
	fi
	t1=$(date +%s)
	for t in $tests; do
		tlog=$work/${t%.sh}.log
		(
			cd "$work" || exit 1
			XTRK_BIN=$mB/xtrk XTRK_TEST_SRCDIR=$S XTRK_TEST_BUILDDIR=$mB XTRK_TEST_FAIL_FAST=1
			export XTRK_BIN XTRK_TEST_SRCDIR XTRK_TEST_BUILDDIR XTRK_TEST_FAIL_FAST
			exec $limit sh "$S/tests/cli/$t"
		) >"$tlog" 2>&1
		rc=$?
		case $rc in
		1)
			ok "mutant $name caught by $t"
			# the block that caught it, with the start of its output (progress output, \r...\r, removed)
			sed 's/\r.*\r//; s/.*\r//' "$tlog" | awk '/^not ok/ { n = 1; print; next } n && /^#/ && /[^#[:space:]]/ && n++ <= 3' | note
			;;
		0)
			not_ok "mutant $name survived $t (the file passes against it: a gap in the tests)"
			sed -n 's/^Breaks: */the mutant breaks: /p' "$p" | note
			;;
		77)
			not_ok "mutant $name not caught by $t: the file skipped (exit 77)"
			tail -n 3 "$tlog" | note
			;;
		124)
			not_ok "mutant $name: $t ran past ${XTRK_MUTATION_TIMEOUT:-600} s against it (XTRK_MUTATION_TIMEOUT)"
			tail -n 20 "$tlog" | note
			;;
		*)
			not_ok "mutant $name: $t ended with exit $rc, not 1"
			tail -n 20 "$tlog" | note
			;;
		esac
	done
	echo "# $name ($file): copied, patched and built in $((t1 - t0)) s, tested in $(($(date +%s) - t1)) s"
	[ "${XTRK_MUTATION_KEEP:-0}" != 0 ] || rm -rf "$work"
done

echo "1..$n"
echo "$npass passed, $nfail failed, 0 skipped"
[ "$nfail" -eq 0 ] && [ "$n" -gt 0 ]
