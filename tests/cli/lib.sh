# Shared setup for the shell tests: a temporary folder, assertions, TAP-style output.
# Each test file sources this, runs `check "description" 'commands'` blocks, then `finish`.
# The blocks run under bash (for pipefail), whichever shell started the file.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

XTRK_BIN=${XTRK_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/xtrk}
XTRK_TEST_SRCDIR=${XTRK_TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
XTRK_TEST_BUILDDIR=${XTRK_TEST_BUILDDIR:-$XTRK_TEST_SRCDIR}
DATA=$XTRK_TEST_SRCDIR/tests/data

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-test.XXXXXX")
trap 'cd /; rm -rf "$TRASH"' EXIT
cd "$TRASH" || exit 1

# A private git identity and no system config, so results do not depend on the machine.
export HOME=$TRASH/home
mkdir -p "$HOME"
export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL=$HOME/.gitconfig
git config --global user.name "Test User"
git config --global user.email "test@example.com"
git config --global init.defaultBranch main
unset XTRK_DIR

xtrk() { "$XTRK_BIN" "$@"; }

ntests=0
nfailed=0
nskipped=0

# check DESCRIPTION SCRIPT: run SCRIPT in a subshell with -e and pipefail, so that any command of
# the block that fails fails the block; report ok / not ok.  The subshell is run as a plain command
# and its status tested afterwards: inside an `if` (or `&&`, `||`, `!`) condition -e has no effect.
# A block that calls `skip REASON` is reported as skipped.  With XTRK_TEST_FAIL_FAST=1 the first
# failed block ends the file (exit 1), as soon as the answer is known.  Under pipefail a pipe must
# not end in a reader that quits early (`grep -q`, `head`): the writer's SIGPIPE would fail the
# block at random; use `grep PATTERN >/dev/null`.
check() {
	ntests=$((ntests + 1))
	rm -f "$TRASH/.skip"
	(set -eo pipefail; eval "$2") >"$TRASH/.out" 2>&1
	local rc=$?
	if [ -f "$TRASH/.skip" ]; then
		nskipped=$((nskipped + 1))
		echo "ok $ntests # skip $1 ($(cat "$TRASH/.skip"))"
	elif [ $rc -eq 0 ]; then
		echo "ok $ntests - $1"
	else
		nfailed=$((nfailed + 1))
		echo "not ok $ntests - $1"
		sed 's/^/#   /' "$TRASH/.out"
		# XTRK_TEST_FAIL_FAST=1 (set by the mutation check): the first failed block ends the file.
		if [ "${XTRK_TEST_FAIL_FAST:-0}" != 0 ]; then
			echo "# stopping at the first failure (XTRK_TEST_FAIL_FAST)"
			finish
		fi
	fi
}

# skip REASON: inside a check block, end the block and count it as skipped.
skip() { printf '%s\n' "$*" >"$TRASH/.skip"; exit 0; }

# finish: the closing lines.  A file whose blocks all skipped exits 77 (counted as a skip, not a
# pass); one with a failed block exits 1.
finish() {
	echo "1..$ntests"
	echo "$((ntests - nfailed - nskipped)) passed, $nfailed failed, $nskipped skipped"
	[ "$nfailed" -eq 0 ] || exit 1
	[ "$ntests" -gt 0 ] && [ "$nskipped" -eq "$ntests" ] && exit 77
	exit 0
}

# skip_all REASON: skip the whole file (before any check), counted as one skipped test.
skip_all() {
	echo "ok 1 # skip $*"
	echo "1..1"
	echo "0 passed, 0 failed, 1 skipped"
	exit 77
}

# The fault-injection shim (tests/helpers/faults.c), built by make check.
SHIM=$XTRK_TEST_BUILDDIR/tests/helpers/faults.so

# need_shim: skip the whole file, with a TAP skip line, when the shim was not built.
need_shim() {
	[ -f "$SHIM" ] || skip_all "the fault shim was not built"
}

# A fresh workspace in the current folder, with Python capture off to keep tests fast.
new_ws() {
	xtrk init -q "${1:-.}"
	git config -f "${1:-.}/.xtrk/config" capture.python false
}

# A git repository with two commits, in the current folder.
new_git_repo() {
	git init -q .
	printf 'import sys\nprint("training")\n' > train.py
	git add train.py
	git commit -qm "first"
	printf 'lr = 0.1\n' > config.py
	git add config.py
	git commit -qm "second"
}

# Assertions that explain themselves when they fail.
# flip_byte FILE OFFSET: invert one byte in place (always a change, whatever the byte was).
flip_byte() {
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1)
    if len(b) != 1: sys.exit("flip_byte: %s has no byte at %s" % (sys.argv[1], sys.argv[2]))
    f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"
}
expect_eq() { [ "$1" = "$2" ] || { echo "expected '$2', got '$1'"; return 1; }; }
expect_contains() { case "$1" in *"$2"*) ;; *) echo "expected to find '$2' in: $1"; return 1;; esac; }
expect_not_contains() { case "$1" in *"$2"*) echo "did not expect '$2' in: $1"; return 1;; esac; }
# expect_exit CODE CMD...: run CMD, expect that exit status.
expect_exit() {
	want=$1; shift
	set +e; "$@"; got=$?; set -e
	[ "$got" -eq "$want" ] || { echo "expected exit $want, got $got from: $*"; return 1; }
}
# A JSON field of a document on stdin, via python3 (present wherever the tests run).
json_get() { python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if not isinstance(v, str) else v)' "$1"; }
# Everything in the store except the caches, as "path size" lines, for before/after comparisons.
store_listing() { (cd "${1:-.}/.xtrk" && find . -path ./cache -prune -o -path ./objects/tmp -prune -o -type f -printf '%p %s\n' | sort); }
