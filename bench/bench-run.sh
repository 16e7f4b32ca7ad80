#!/usr/bin/env bash
# Overhead of `xtrk run` over running a command directly (target: under 100 ms, plus the
# time to snapshot outputs). Runs each N times, alternating, and prints medians.
#
#   bench/bench-run.sh [--times N] [--python on|off] [--against OTHER_XTRK]
#
# --against times a second xtrk binary (an older build) in the same loop, for before/after figures.
set -euo pipefail
TIMES=20
PY=off
OTHER=
while [ $# -gt 0 ]; do
	case "$1" in
	--times) TIMES=$2; shift 2 ;;
	--python) PY=$2; shift 2 ;;
	--against) OTHER=$(realpath "$2"); shift 2 ;;
	*) echo "usage: $0 [--times N] [--python on|off] [--against OTHER_XTRK]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=$here/xtrk
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-bench-run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
git init -q . && git -c user.name=b -c user.email=b@x commit -q --allow-empty -m init
"$XTRK" init -q
[ "$PY" = on ] && git config -f .xtrk/config capture.python true || git config -f .xtrk/config capture.python false
cmd=(sh -c 'echo step; i=0; while [ $i -lt 3 ]; do echo "{\"step\": $i, \"loss\": 1}" >> "${XTRK_RUN_DIR:-/dev/null}"/metrics.jsonl 2>/dev/null || true; i=$((i+1)); done')
"$XTRK" run -q -- "${cmd[@]}" >/dev/null 2>&1   # warm the caches (Python probe, stat cache)
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
: > direct; : > wrapped; : > other
if [ -n "$OTHER" ]; then
	# Its own store: the two builds must not invalidate each other's Python probe cache.
	mkdir store2 && (cd store2 && git init -q . && git -c user.name=b -c user.email=b@x commit -q --allow-empty -m init &&
		"$OTHER" init -q && cp ../.xtrk/config .xtrk/config && "$OTHER" run -q -- "${cmd[@]}" >/dev/null 2>&1)
fi
for i in $(seq 1 "$TIMES"); do
	ms "${cmd[@]}" >> direct
	ms "$XTRK" run -q -- "${cmd[@]}" >> wrapped
	[ -z "$OTHER" ] || (cd store2 && ms "$OTHER" run -q -- "${cmd[@]}") >> other
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
d=$(med direct); w=$(med wrapped)
echo "| command | median ms ($TIMES runs, capture.python=$PY) |"
echo "| --- | ---: |"
echo "| direct | $d |"
echo "| xtrk run | $w |"
echo "| overhead | $((w - d)) |"
if [ -n "$OTHER" ]; then
	o=$(med other)
	echo "| $OTHER run | $o |"
	echo "| its overhead | $((o - d)) |"
fi
