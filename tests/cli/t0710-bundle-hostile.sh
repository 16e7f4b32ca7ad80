#!/bin/sh
# Hostile bundles: each is refused with a clear error, the store stays byte-identical,
# and nothing is written outside it (a marker file beside the workspace is untouched).
. "$(dirname "$0")/lib.sh"

mk() { python3 "$XTRK_TEST_SRCDIR/tests/helpers/mkbundle.py" good.tar "$@"; }

mkdir origin && cd origin
new_git_repo
new_ws
mkdir data && echo a > data/a && echo b > data/b && head -c 4000 /dev/urandom > model.bin
xtrk commit-run -e exp -d data --model model.bin -p lr=0.1 >/dev/null
xtrk bundle create -o ../good.tar exp 2>/dev/null
cd "$TRASH"
echo "original" > marker
mkdir victim && cd victim && new_ws && cd "$TRASH"
xtrk -C victim bundle import good.tar 2>/dev/null # a store that already holds something
before=$(store_listing victim)

# refused CASE MESSAGE [ARG]: verify exits 3 (or 1) naming MESSAGE; import exits 1; nothing changed.
refused() {
	case_name=$1 msg=$2 arg=${3:-}
	out=h-$case_name.tar
	[ "$case_name" = bomb ] && out=h-$case_name.tar.gz
	mk "$case_name" "$out" $arg
	set +e
	xtrk bundle verify "$out" > verify.out 2>&1; vrc=$?
	xtrk -C victim bundle import "$out" > import.out 2>&1; irc=$?
	set -e
	[ $vrc -eq 3 ] || [ $vrc -eq 1 ] || { echo "verify exit $vrc"; cat verify.out; return 1; }
	expect_contains "$(cat verify.out)" "$msg"
	expect_eq $irc 1
	expect_contains "$(cat import.out)" "xtrk: error:"
	expect_contains "$(cat import.out)" "$msg"
	expect_eq "$(store_listing victim)" "$before"
	expect_eq "$(cat marker)" original
	expect_eq "$(ls victim/.xtrk/objects/tmp)" ""
	xtrk -C victim fsck -q
}

check "the good bundle verifies (the cases below each break one rule of it)" '
	xtrk bundle verify good.tar 2>err
	expect_contains "$(cat err)" "0 problems"
'
check "'..' components" 'refused dotdot "path traversal"'
check "absolute paths" '
	refused absolute "absolute path" "$TRASH/abs-evil"
	test ! -e "$TRASH/abs-evil"
'
check "symbolic links" 'refused symlink "symbolic link" "$TRASH/marker"'
check "hard links" 'refused hardlink "hard link"'
check "device files" 'refused device "device file"'
check "FIFOs" 'refused fifo "FIFO"'
check "reserved names: .xtrk" 'refused reserved "reserved name" .xtrk/config'
check "reserved names: .GIT in any case" 'refused reserved "reserved name" objects/.GIT'
check "duplicate entries" 'refused duplicate "duplicate entry"'
check "an object whose content does not match its ID" 'refused badhash "not to its ID"'
check "an entry that inflates far beyond its declared size (stops without inflating it)" '
	start=$(date +%s)
	refused bomb "but the manifest declares"
	[ $(( $(date +%s) - start )) -lt 20 ]
'
check "a truncated archive" 'refused truncated "truncated"'
check "more entries than the manifest declares" '
	refused many "not in the manifest" 50
	expect_contains "$(cat verify.out)" "more entries than its manifest declares"
'
check "a path past the length limit" 'refused longpath "path longer than the limit"'
check "malformed JSON" 'refused badjson "malformed JSON at line 1"'
check "a manifest field of the wrong type" 'refused manifest-type "'"'"'objects'"'"' is not a list"'
check "a run record field of the wrong type (re-hashed, so only the type is wrong)" '
	refused run-type "'"'"'datasets'"'"' is not an array"'
check "a run record that would check a dataset out of the workspace" '
	refused run-path "has no safe relative path"'
check "no manifest first: not a bundle" 'refused no-manifest "not an xtrk bundle"'
check "a file that is not an archive at all" '
	head -c 5000 /dev/urandom > noise.tar
	expect_exit 1 xtrk -C victim bundle import ../noise.tar 2>err
	expect_contains "$(cat err)" "xtrk: error:"
	expect_eq "$(store_listing victim)" "$before"
'
check "RUNBOOK.md and report.html must match the IDs the manifest declares for them" '
	refused doc-changed "RUNBOOK.md does not match the manifest"
	refused report-changed "report.html does not match the manifest"
	refused doc-missing "RUNBOOK.md is declared in the manifest but not in the bundle"
	refused doc-bad "documents"
	(cd origin && xtrk bundle create --no-report -o ../noreport.tar exp 2>/dev/null)
	python3 "$XTRK_TEST_SRCDIR/tests/helpers/mkbundle.py" noreport.tar report-added h-report-added.tar
	set +e; xtrk bundle verify h-report-added.tar > v.out 2>&1; rc=$?; set -e
	expect_eq $rc 3
	expect_contains "$(cat v.out)" "report.html is in the bundle but not declared in its manifest"
	mk doc-old h-doc-old.tar
	xtrk bundle verify h-doc-old.tar 2>err
	expect_contains "$(cat err)" "0 problems"
'
finish
