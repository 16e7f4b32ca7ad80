#!/usr/bin/env bash
# Query speed over many runs (targets: log --where ... --sort ... -n 20 under 200 ms at 10,000 runs
# and under 1 s at 100,000), index size per run, and the cost of building the index from scratch.
# Runs are made through the library (bench/mkruns) from a real run's record, environment included.
#
#   bench/bench-query.sh [--runs "10000 100000"] [--times N] [--against OLD/xtrk] [--one-by-one N]
#
# With --against, the same queries are also timed with another build, alternating with this one
# in each round on the same store (a build that knows no view ignores it), and a table of medians
# of wall and CPU time (user + system) compares the two.  With --one-by-one N, a store of N runs
# each stored as commit-run stores it (a pack and an index segment of its own: bench/mkruns
# --one-by-one, under eatmydata when it is installed) is timed the same way, each build on its
# own copy from its first listing on.
set -euo pipefail
RUNS="10000 100000"
TIMES=7
OLD=
ONE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--times) TIMES=$2; shift 2 ;;
	--against) OLD=$2; shift 2 ;;
	--one-by-one) ONE=$2; shift 2 ;;
	*) echo "usage: $0 [--runs \"N ...\"] [--times N] [--against OLD/xtrk] [--one-by-one N]" >&2; exit 2 ;;
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
# Wall and CPU (user + system) milliseconds of one command: "WALL CPU".
wc_ms() {
	local s e c
	s=$(date +%s%N)
	/usr/bin/time -f "%U %S" -o "$WORK/.cpu" "$@" >/dev/null 2>&1 || true
	c=$(tail -1 "$WORK/.cpu")
	e=$(date +%s%N)
	echo "$(( (e - s) / 1000000 )) $(echo "$c" | awk '{printf "%d", ($1 + $2) * 1000}')"
}
# Medians of wall and CPU over N rounds of two builds alternating, the second in folder DIR_B:
# "WALL_A CPU_A WALL_B CPU_B".
pair() {
	local n=$1 a=$2 b=$3 bdir=$4; shift 4
	for i in $(seq "$n"); do
		echo "A $(wc_ms "$a" "$@")"
		echo "B $(cd "$bdir" && wc_ms "$b" "$@")"
	done | awk '{w[$1]=w[$1] " " $2; c[$1]=c[$1] " " $3}
		function med(s,   a, k, i, j, t) { k = split(s, a, " "); for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }; return (k % 2) ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2 }
		END { print med(w["A"]), med(c["A"]), med(w["B"]), med(c["B"]) }'
}
med() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# A new store of N runs made by bench/mkruns in $WORK/NAME, entered; its making's time in $made_ms.
make_store() {
	local t0 t1
	ws=$WORK/$1
	mkdir "$ws" && cd "$ws" && "$XTRK" init -q
	t0=$(date +%s%N)
	"$here/bench/mkruns" "$ws" "$WORK/template.json" "$2"
	t1=$(date +%s%N)
	made_ms=$(( (t1 - t0) / 1000000 ))
}
WHERE='params.lr < 0.01 and metrics.acc >= 0.9 and env.gpus.0.cuda == "12.4" and datasets.train.id == "0000"'

echo "template run: $pkgs Python packages in its environment; query: --where '$WHERE' --sort -metrics.acc -n 20"
echo
echo "| runs | make runs (s) | first log, index built (s) | log --where --sort -n 20, median ms | same, --format json | log, all runs, table | after one more commit-run, ms | index bytes/run | peak RSS of the query |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in $RUNS; do
	make_store ws$n "$n"
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
	echo "| $n | ${made_ms}e-3 | $(( (t2 - t1) / 1000000 ))e-3 | $q | $j | $all | $after | $((bytes / n)) | $((rss / 1024)) MiB |"
	echo "  ($hits runs match at $n)" >&2
	cd "$WORK" && rm -rf "$ws"
done

# ---- this build against another, side by side ----
if [ -n "$OLD" ]; then
	echo
	echo "Against $OLD (medians of $TIMES rounds, each build once a round, on the same store; wall / CPU ms):"
	echo
	echo "| store | query | this build, wall | this build, CPU | other build, wall | other build, CPU |"
	echo "| --- | --- | ---: | ---: | ---: | ---: |"
	for n in $RUNS; do
		make_store vs$n "$n"
		"$XTRK" log -n 1 >/dev/null
		"$OLD" log -n 1 >/dev/null
		set -- $(pair "$TIMES" "$XTRK" "$OLD" . log --where "$WHERE" --sort -metrics.acc -n 20)
		echo "| $n runs (mkruns) | log --where --sort -n 20 | $1 | $2 | $3 | $4 |"
		set -- $(pair "$TIMES" "$XTRK" "$OLD" . log --where "$WHERE" --sort -metrics.acc -n 20 --format json)
		echo "| $n runs (mkruns) | same, --format json | $1 | $2 | $3 | $4 |"
		"$XTRK" commit-run -e mnist -p lr=0.001 --metric acc=0.99 >/dev/null 2>&1
		set -- $(pair 1 "$XTRK" "$OLD" . log --where "$WHERE" --sort -metrics.acc -n 20)
		echo "| $n runs (mkruns) | first log after one more commit-run | $1 | $2 | $3 | $4 |"
		set -- $(pair "$TIMES" "$XTRK" "$OLD" . log --where "$WHERE" --sort -metrics.acc -n 20)
		echo "| $n runs (mkruns) | the logs after it | $1 | $2 | $3 | $4 |"
		cd "$WORK" && rm -rf "$ws"
	done
	if [ "$ONE" -gt 0 ]; then
		ws=$WORK/one
		mkdir "$ws" && cd "$ws" && "$XTRK" init -q
		t0=$(date +%s%N)
		$(command -v eatmydata || true) "$here/bench/mkruns" "$ws" "$WORK/template.json" "$ONE" --one-by-one
		t1=$(date +%s%N)
		echo "  ($ONE runs one by one made in $(( (t1 - t0) / 1000000 )) ms: $(ls .xtrk/objects/pack | grep -c idx) packs, $(ls .xtrk/index | wc -l) segments)" >&2
		cp -a "$ws" "$WORK/one-old"
		set -- $(wc_ms "$XTRK" log -n 1) $(cd "$WORK/one-old" && wc_ms "$OLD" log -n 1)
		echo "| $ONE runs (one by one) | first log (merges the segments) | $1 | $2 | $3 | $4 |"
		"$XTRK" log -n 1 >/dev/null
		(cd "$WORK/one-old" && "$OLD" log -n 1 >/dev/null)
		set -- $(pair "$TIMES" "$XTRK" "$OLD" "$WORK/one-old" log --where "$WHERE" --sort -metrics.acc -n 20)
		echo "| $ONE runs (one by one) | log --where --sort -n 20 | $1 | $2 | $3 | $4 |"
		cd "$WORK" && rm -rf "$ws" "$WORK/one-old"
	fi
fi
