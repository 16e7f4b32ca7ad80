#!/usr/bin/env bash
# Bundle create and import of a 1 GiB model against tar cf / tar xf of the same file
# (target: at most 1.5x). Medians of N rounds, all tools side by side in each round.
# xtrk makes its output durable (fsync) and verifies every object; plain tar does neither,
# so "tar + sync" is shown too.
#
#   bench/bench-bundle.sh [--size-mib N] [--rounds N]
set -euo pipefail
SIZE=1024
ROUNDS=3
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mib) SIZE=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	*) echo "usage: $0 [--size-mib N] [--rounds N]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=$here/xtrk
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-bench-bundle.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir src && cd src
"$XTRK" init -q
git config -f .xtrk/config capture.python false
head -c $((SIZE << 20)) /dev/urandom > model.bin
run=$("$XTRK" commit-run -e b --model model.bin 2>/dev/null)
cd "$WORK"
# Each timing starts with nothing dirty in the page cache, so no command pays for another's writeback.
ms() { local s e; sync; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
med() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for r in $(seq "$ROUNDS"); do
	rm -f b.tar t.tar; rm -rf dst tx; mkdir tx
	ms "$XTRK" -C src bundle create -o "$WORK/b.tar" "$run" >> xc
	ms tar cf t.tar -C src model.bin >> tc
	rm -f t.tar
	ms sh -c "tar cf t.tar -C src model.bin && sync t.tar" >> tcs
	mkdir dst && (cd dst && "$XTRK" init -q)
	ms "$XTRK" -C dst bundle import "$WORK/b.tar" >> xi
	ms tar xf t.tar -C tx >> tx_
	rm -rf tx && mkdir tx
	ms sh -c "tar xf t.tar -C tx && sync tx/model.bin" >> txs
	ms "$XTRK" bundle verify "$WORK/b.tar" >> xv
done
xc=$(med < xc); tc=$(med < tc); tcs=$(med < tcs); xi=$(med < xi); tx=$(med < tx_); txs=$(med < txs); xv=$(med < xv)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| ${SIZE} MiB model, median of $ROUNDS rounds | ms | xtrk / tar | xtrk / (tar + sync) |"
echo "| --- | ---: | ---: | ---: |"
echo "| xtrk bundle create (.tar) | $xc | $(ratio $xc $tc) | $(ratio $xc $tcs) |"
echo "| tar cf | $tc | | |"
echo "| tar cf + sync | $tcs | | |"
echo "| xtrk bundle import | $xi | $(ratio $xi $tx) | $(ratio $xi $txs) |"
echo "| tar xf | $tx | | |"
echo "| tar xf + sync | $txs | | |"
echo "| xtrk bundle verify | $xv | | |"
