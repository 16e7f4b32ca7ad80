#!/usr/bin/env bash
# The front door: install what is missing, build, then run the tour (demo) or the test suite (check).
#
#   contrib/quickstart.sh demo    a short tour of the main job in a temporary workspace, removed
#                                 at the end (it says where it was)
#   contrib/quickstart.sh demo --keep   the same, keeping the workspace to look around in (it says where)
#   contrib/quickstart.sh check   the whole test suite (what CI runs); the S3 tests' server is
#                                 moto_server where installed, else s3rver from npm, installed
#                                 into contrib/.npm
#   contrib/quickstart.sh check-asan   the suite again, built with AddressSanitizer, UBSan and
#                                      allocation-failure injection, in a copy under $TMPDIR (CI runs it too)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

PACKAGES="build-essential autoconf automake pkg-config git python3 xxhash chromium libxml2-utils
	libgit2-dev zlib1g-dev libxxhash-dev libarchive-dev libcriterion-dev libjansson-dev libyaml-dev libpcre2-dev nettle-dev libcurl4-openssl-dev libcsv-dev
	python3-torch python3-sklearn"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }

install_deps() {
	local missing=()
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The S3 tests' server on loopback: moto_server (python moto) where it is installed, else s3rver
# from the npm registry, this version, into contrib/.npm (git-ignored; node and npm from Debian
# when missing). Without either, the S3 tests are skipped.
S3RVER_VERSION=3.7.1
install_s3_server() {
	command -v moto_server >/dev/null 2>&1 && return 0
	grep -qs "\"version\": \"$S3RVER_VERSION\"" contrib/.npm/node_modules/s3rver/package.json && return 0
	if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
		say "installing nodejs npm (for the S3 tests' server)"
		local sudo=""
		[ "$(id -u)" -ne 0 ] && sudo=sudo
		{ $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null; } ||
			{ say "nodejs and npm could not be installed: the S3 tests will be skipped"; return 0; }
	fi
	say "installing s3rver $S3RVER_VERSION (the S3 tests' server) into contrib/.npm"
	mkdir -p contrib/.npm
	npm install --prefix contrib/.npm --no-save --no-audit --no-fund --loglevel=error \
		"s3rver@$S3RVER_VERSION" >/dev/null ||
		say "s3rver could not be installed: the S3 tests will be skipped"
}

build() {
	if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
		say "autoreconf"
		./autogen.sh >/dev/null 2>&1
	fi
	if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
		say "configure"
		./configure -q ${XTRK_CONFIGURE_FLAGS:-}
	fi
	say "make"
	make -s -j"$(nproc)" >/dev/null
}

check() {
	say "make check"
	local rc=0
	make -s -j"$(nproc)" check || rc=$?
	# Show what failed, then one closing line that counts every test case.
	if [ $rc -ne 0 ]; then
		for f in tests/unit/*.log tests/cli/*.log tests/stress/*.log; do
			[ -f "$f" ] && grep -qE "^(not ok|FAIL|\[----\].*FAIL)|Failing: [1-9]|Crashing: [1-9]" "$f" && { echo "--- $f"; tail -40 "$f"; }
		done
	fi
	local passed=0 failed=0 skipped=0 n
	for f in tests/cli/*.log tests/stress/*.log; do
		[ -f "$f" ] || continue
		n=$(grep -c "^ok [0-9]* # skip" "$f" || true); skipped=$((skipped + n))
		n=$(grep -c "^ok " "$f" || true); passed=$((passed + n))
		n=$(grep -c "^not ok " "$f" || true); failed=$((failed + n))
	done
	passed=$((passed - skipped))
	for f in tests/unit/*.log; do
		[ -f "$f" ] || continue
		n=$(sed -n 's/.*Tested: \([0-9]*\) | Passing: \([0-9]*\).*/\2/p' "$f" | tail -1); passed=$((passed + ${n:-0}))
		n=$(sed -n 's/.*Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2/p' "$f" | tail -1)
		for x in $n; do failed=$((failed + x)); done
	done
	[ $rc -ne 0 ] && [ $failed -eq 0 ] && failed=1
	echo "$passed passed, $failed failed, $skipped skipped"
	return $rc
}

# The committed sources, built in a scratch copy with sanitizers: the whole suite, with the allocation
# sweep checking every failure path for leaks.
check_asan() {
	asan_dir=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-asan.XXXXXX")
	trap 'rm -rf "${asan_dir:-}"' EXIT
	say "copying the sources to $asan_dir"
	git ls-files -z | xargs -0 tar cf - | tar xf - -C "$asan_dir"
	cd "$asan_dir"
	# the S3 tests' server installed in the checkout (contrib/.npm is not in the copy)
	export XTRK_TEST_S3RVER_MODULES="$here/contrib/.npm/node_modules"
	say "autoreconf + configure --enable-asan --enable-fault-injection"
	./autogen.sh >/dev/null 2>&1
	./configure -q --enable-asan --enable-fault-injection
	say "make (ASan + UBSan)"
	make -s -j"$(nproc)" >/dev/null
	check
}

# Where the tour ran, said last, whether it ended well or not: kept (--keep) or removed.
demo_end() {
	if [ "$demo_keep" = 1 ]; then
		say "the demo workspace is kept: $demo_ws"
		printf '    cd %q && PATH=%q:$PATH xtrk log     # look around; rm -rf it when done\n' "$demo_ws" "$here" >&2
	else
		rm -rf "$demo_ws"
		say "the demo workspace $demo_ws is removed (contrib/quickstart.sh demo --keep keeps it)"
	fi
}

demo() {
	local X="$here/xtrk"
	demo_ws=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-demo.XXXXXX")
	trap demo_end EXIT
	say "the demo workspace: $demo_ws ($([ "$demo_keep" = 1 ] && echo "kept at the end" || echo "removed at the end; demo --keep keeps it"))"
	cd "$demo_ws"

	say "a small project: a git repository with a training script and a dataset"
	git init -q -b main .
	git config user.name "Demo User"
	git config user.email "demo@example.com"
	cp "$here/contrib/demo/train.py" .
	python3 train.py --make-data data/points.csv
	printf 'lr: 0.05\nepochs: 200\nseed: 7\n' > params.yaml
	git add train.py params.yaml && git commit -qm "linear model trainer"
	ls -l train.py params.yaml data/

	say "xtrk init"
	"$X" init

	say "run 1: train with lr=0.05, then record the run"
	python3 train.py --params params.yaml --data data/points.csv --out model.json --metrics metrics.json
	"$X" commit-run -e linreg -m "baseline" -P params.yaml -M metrics.json \
		-d points=data/points.csv@generated-by-train.py --model model.json

	say "run 2: a smaller learning rate (an uncommitted change: the patch is recorded)"
	sed -i 's/lr: 0.05/lr: 0.01/' params.yaml
	python3 train.py --params params.yaml --data data/points.csv --out model.json --metrics metrics.json
	"$X" commit-run -e linreg -m "smaller lr" -P params.yaml -M metrics.json \
		-d points=data/points.csv@generated-by-train.py --model model.json --parent linreg --tag candidate

	say "xtrk log"
	"$X" log

	say "xtrk log --columns (params and metrics side by side)"
	"$X" log --columns id,params.lr,metrics.loss,metrics.r2

	say "xtrk show candidate"
	"$X" show candidate

	say "xtrk diff linreg~1 linreg (what changed between the two runs)"
	"$X" diff --color=never linreg~1 linreg

	say "xtrk status (the workspace still matches the newest run)"
	"$X" status || true

	say "xtrk checkout linreg~1 -C restored (the baseline: a git repository at its commit, data, model, verified)"
	"$X" checkout -C restored linreg~1
	ls restored
	git -C restored log --oneline
	grep lr restored/params.yaml

	say "the model's ID is its XXH3-128, checkable with a standard tool"
	"$X" show --json candidate | python3 -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["id"])'
	xxhsum -H2 model.json 2>/dev/null

	say "xtrk fsck --read-data"
	"$X" fsck --read-data
}

demo_keep=0
if [ "${1:-}" = demo ] && [ $# -gt 1 ]; then
	[ "$2" = --keep ] && [ $# -eq 2 ] || { echo "usage: $0 demo [--keep]" >&2; exit 2; }
	demo_keep=1
fi

case "${1:-}" in
demo) install_deps; build; demo ;;
check) install_deps; install_s3_server; build; check ;;
check-asan) install_deps; install_s3_server; check_asan ;;
*) echo "usage: $0 demo [--keep]|check|check-asan" >&2; exit 2 ;;
esac
