#!/usr/bin/env bash
# Query speed over many runs (targets: log --where ... --sort ... -n 20 under 200 ms at 10,000 runs
# and under 1 s at 100,000), index size per run, and the cost of building the index from scratch.
# Runs are made through the library (bench/mkruns) from a real run's record, environment included.
#
#   bench/bench-query.sh [--runs "10000 100000"] [--times N]
set -euo pipefail
RUNS="10000 100000"
TIMES=7
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--times) TIMES=$2; shift 2 ;;
	*) echo "usage: $0 [--runs \"N ...\"] [--times N]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=${XTRK:-$here/xtrk}   # XTRK=OTHER/xtrk: time another build
make -C "$here" -s bench/mkruns >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-bench-query.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# A template: one real run, with Python packages captured.
mkdir "$WORK/tmpl" && cd "$WORK/tmpl"
git init -q . && git -c user.name=b -c user.email=b@x commit -q --allow-empty -m init
"$XTRK" init -q
"$XTRK" commit-run -e t -p lr=0.1 --metric acc=0.5 >/dev/null 2>&1
"$XTRK" show t --json > "$WORK/template.json"
pkgs=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["env"]; print(len((e.get("python") or {}).get("packages") or {}))' "$WORK/template.json")

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
med() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
WHERE='params.lr < 0.01 and metrics.acc >= 0.9 and env.gpus.0.cuda == "12.4" and datasets.train.id == "0000"'

echo "template run: $pkgs Python packages in its environment; query: --where '$WHERE' --sort -metrics.acc -n 20"
echo
echo "| runs | make runs (s) | first log, index built (s) | log --where --sort -n 20, median ms | same, --format json | log, all runs, table | after one more commit-run, ms | index bytes/run | peak RSS of the query |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in $RUNS; do
	ws=$WORK/ws$n
	mkdir "$ws" && cd "$ws" && "$XTRK" init -q
	t0=$(date +%s%N)
	"$here/bench/mkruns" "$ws" "$WORK/template.json" "$n"
	t1=$(date +%s%N)
	"$XTRK" log -n 1 >/dev/null
	t2=$(date +%s%N)
	q=$(for i in $(seq "$TIMES"); do ms "$XTRK" log --where "$WHERE" --sort -metrics.acc -n 20; done | med)
	j=$(for i in $(seq "$TIMES"); do ms "$XTRK" log --where "$WHERE" --sort -metrics.acc -n 20 --format json; done | med)
	all=$(for i in $(seq 3); do ms "$XTRK" log; done | med)
	"$XTRK" commit-run -e mnist -p lr=0.001 --metric acc=0.99 >/dev/null 2>&1
	after=$(for i in $(seq "$TIMES"); do ms "$XTRK" log --where "$WHERE" --sort -metrics.acc -n 20; done | med)
	bytes=$(du -sb .xtrk/index | cut -f1)
	rss=$( { /usr/bin/time -f %M "$XTRK" log --where "$WHERE" --sort -metrics.acc -n 20 >/dev/null; } 2>&1 | tail -1)
	hits=$("$XTRK" log --where "$WHERE" --format csv --columns id | sed 1d | wc -l)
	echo "| $n | $(( (t1 - t0) / 1000000 ))e-3 | $(( (t2 - t1) / 1000000 ))e-3 | $q | $j | $all | $after | $((bytes / n)) | $((rss / 1024)) MiB |"
	echo "  ($hits runs match at $n)" >&2
	cd "$WORK" && rm -rf "$ws"
done
