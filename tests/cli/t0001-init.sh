#!/bin/sh
# xtrk init: creates the store, is idempotent, honours -C and XTRK_DIR.
. "$(dirname "$0")/lib.sh"

check "init creates .xtrk and says where" '
	out=$(xtrk init)
	expect_contains "$out" "Initialized empty xtrk store in $TRASH/.xtrk"
	test -d .xtrk/objects && test -d .xtrk/refs/experiments && test -f .xtrk/config
'
check "init again is harmless and says so" '
	echo marker > .xtrk/refs/tags/keep
	out=$(xtrk init)
	expect_contains "$out" "Reinitialized existing xtrk store"
	test -f .xtrk/refs/tags/keep
'
check "init -C DIR creates the folder" '
	xtrk -C sub/dir init -q
	test -d sub/dir/.xtrk/objects
'
check "init DIR works too" '
	xtrk init -q other
	test -d other/.xtrk/objects
'
check "commands find the workspace from a subfolder" '
	mkdir -p deep/er && cd deep/er
	xtrk log >/dev/null
'
check "outside a workspace: clear error, exit 1" '
	mkdir -p /tmp/xtrk-none-$$ && cd /tmp/xtrk-none-$$
	err=$( { xtrk log 2>&1 >/dev/null; echo "rc=$?"; } )
	rmdir /tmp/xtrk-none-$$
	expect_contains "$err" "xtrk: error: not an xtrk workspace"
	expect_contains "$err" "rc=1"
'
check "XTRK_DIR selects the workspace" '
	mkdir -p /tmp/xtrk-cwd-$$ && cd /tmp/xtrk-cwd-$$
	XTRK_DIR=$TRASH/other xtrk log >/dev/null
	rmdir /tmp/xtrk-cwd-$$
'
check "the store keeps itself out of git status" '
	mkdir g && cd g && git init -q . && xtrk init -q
	expect_eq "$(git status --porcelain)" ""
'
check "usage errors exit 2" '
	expect_exit 2 xtrk init --bogus
	expect_exit 2 xtrk no-such-command
	expect_exit 2 xtrk
'
check "--help works for every command" '
	for c in init commit-run log show fsck hash-object cat-object; do
		xtrk $c --help | grep "usage: xtrk $c" >/dev/null
	done
'
finish
