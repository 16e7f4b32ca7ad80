#!/usr/bin/env bash
# Profiling a big CSV: `xtrk profile PATH` side by side with `wc -l` and with pandas
# `read_csv().describe()` on the same file, in each round: wall time and peak RSS
# (/usr/bin/time; CPU time too, user + system, as the machine may be shared), medians of the rounds.  The file is generated here, deterministically:
# SIZE MiB of rows id, x (uniform -1..1), y (0..1000, 4 decimals), z (integer 0..499),
# cat (10 letters), city (50 names), m (a number, 1 row in 10 empty), flag (true/false).
#
#   bench/profile.sh [--size-mib N] [--rounds R] [--against OLD/xtrk] [--smoke]
#
# pandas comes from Debian (apt-get install python3-pandas) and runs under /usr/bin/python3;
# without it that column is left out.  --against times another build in the same rounds.
# Fails when xtrk's peak RSS reaches 64 MiB.  --smoke: 20 MiB, one round.
set -euo pipefail
SIZE=1024
ROUNDS=3
AGAINST=
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mib) SIZE=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--against) AGAINST=$2; shift 2 ;;
	--smoke) SIZE=20; ROUNDS=1; shift ;;
	*) echo "usage: $0 [--size-mib N] [--rounds R] [--against OLD/xtrk] [--smoke]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=${XTRK:-$here/xtrk}
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-bench-profile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

med() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# timed LOG CMD...: run it, append "seconds peakKiB cpu-seconds" to LOG
timed() { local log=$1; shift; sync; /usr/bin/time -f "%e %M %U %S" -o "$WORK/.t" "$@" >/dev/null 2>"$WORK/.err" || { cat "$WORK/.err" >&2; return 1; }; awk '{print $1, $2, $3 + $4}' "$WORK/.t" >> "$log"; }
col() { awk -v c="$2" '{print $c}' "$1" | med; }

csv=$WORK/data.csv
t0=$(date +%s%N)
awk -v bytes=$((SIZE * 1048576)) 'BEGIN {
	srand(20261203); n = 0
	print "id,x,y,z,cat,city,m,flag"; n += 31
	for (i = 0; n < bytes; i++) {
		m = (i % 10 == 3) ? "" : sprintf("%.3f", rand() * 100)
		line = sprintf("%d,%.6f,%.4f,%d,%s,city%d,%s,%s", i, rand() * 2 - 1, rand() * 1000, int(rand() * 500),
			substr("abcdefghij", int(rand() * 10) + 1, 1), int(rand() * 50), m, rand() < 0.5 ? "true" : "false")
		print line; n += length(line) + 1
	}
}' > "$csv"
t1=$(date +%s%N)
rows=$(($(wc -l < "$csv") - 1))
bytes=$(stat -c %s "$csv")
echo "data: $rows rows, $bytes bytes, made in $(( (t1 - t0) / 1000000 )) ms" >&2
pandas=0
if $PY -c 'import pandas' 2>/dev/null; then pandas=1; fi
cat > "$WORK/pd.py" <<'EOF'
import sys
import pandas as pd
d = pd.read_csv(sys.argv[1])
print(d.describe())
EOF

for r in $(seq "$ROUNDS"); do
	echo "round $r" >&2
	cat "$csv" > /dev/null # the page cache warm for every tool alike
	timed "$WORK/wc" wc -l "$csv"
	timed "$WORK/xtrk" "$XTRK" profile "$csv"
	[ -z "$AGAINST" ] || timed "$WORK/old" "$AGAINST" profile "$csv"
	[ $pandas = 0 ] || timed "$WORK/pd" $PY "$WORK/pd.py" "$csv"
done
"$XTRK" profile --json "$csv" > "$WORK/p.json"
got=$($PY -c 'import json,sys; print(json.load(sys.stdin)["datasets"][0]["profile"]["rows"])' < "$WORK/p.json")
[ "$got" = "$rows" ] || { echo "xtrk counted $got rows, not $rows" >&2; exit 1; }

xs=$(col "$WORK/xtrk" 1)
xm=$(col "$WORK/xtrk" 2)
echo
echo "$rows rows, $(awk -v b="$bytes" 'BEGIN {printf "%.0f", b / 1048576}') MiB; medians of $ROUNDS round(s)"
echo
echo "| work | median wall s | median CPU s | peak MiB | MB/s (wall) | xtrk's wall time is |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
row() { # NAME LOG
	local s m c
	s=$(col "$2" 1); m=$(col "$2" 2); c=$(col "$2" 3)
	awk -v n="$1" -v s="$s" -v m="$m" -v c="$c" -v b="$bytes" -v x="$xs" 'BEGIN {
		printf "| %s | %.2f | %.2f | %.1f | %.0f | %s |\n", n, s, c, m / 1024, b / 1e6 / s, (n ~ /^`xtrk profile`$/) ? "" : sprintf("%.2fx", x / s) }'
}
row '`wc -l`' "$WORK/wc"
row '`xtrk profile`' "$WORK/xtrk"
[ -z "$AGAINST" ] || row "\`xtrk profile\` ($AGAINST)" "$WORK/old"
[ $pandas = 0 ] || row 'pandas `read_csv().describe()`' "$WORK/pd"
echo
echo "per round, xtrk s: $(awk '{printf "%s ", $1}' "$WORK/xtrk")"
[ $pandas = 0 ] || echo "per round, pandas s: $(awk '{printf "%s ", $1}' "$WORK/pd")"
if [ "$xm" -ge 65536 ]; then
	echo "xtrk's peak RSS $xm KiB is over 64 MiB" >&2
	exit 1
fi
