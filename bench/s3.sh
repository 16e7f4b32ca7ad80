#!/usr/bin/env bash
# Transfers to and from an S3-compatible server on loopback (moto_server), side by side in one run:
# xtrk push and xtrk pull (into a fresh store), `rclone copy` up and down, and `restic backup`,
# for one large model and for many small files. Each tool, each round, starts from an empty prefix
# (and an empty destination folder or store); the rounds interleave the tools so that the load of
# a shared machine falls on all of them alike. Prints the median wall time and the median peak
# memory (max RSS from /usr/bin/time -v) of each, and xtrk's time as a ratio of rclone's.
#
#   bench/s3.sh [--size-mib N] [--files N] [--rounds N] [--tools 'xtrk rclone restic']
#   (defaults: 1024 MiB; 100000 files of 10 KiB; 1 round; every tool installed)
#
# rclone runs with its default parallelism (--transfers 4, --checkers 8, --s3-upload-concurrency 4,
# --s3-chunk-size 5Mi, --s3-upload-cutoff 200Mi) and the flags of a copy into a fresh prefix that
# skip work which would be wasted there: --no-check-dest (no listing of the destination before
# uploading), --s3-no-check-bucket (no bucket creation probe), --s3-no-head (no HEAD after each
# upload). Set RCLONE_FLAGS to replace these.
set -euo pipefail
SIZE=1024
FILES=100000
ROUNDS=1
TOOLS="xtrk rclone restic"
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mib) SIZE=$2; shift 2 ;;
	--files) FILES=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--tools) TOOLS=$2; shift 2 ;;
	*) echo "usage: $0 [--size-mib N] [--files N] [--rounds N] [--tools 'xtrk rclone restic']" >&2; exit 2 ;;
	esac
done
RCLONE_FLAGS=${RCLONE_FLAGS:---no-check-dest --s3-no-check-bucket --s3-no-head}
here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=$here/xtrk
command -v moto_server >/dev/null || { echo "moto_server is not installed" >&2; exit 77; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (apt-get install time)" >&2; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-bench-s3.XXXXXX")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null; rm -rf "$WORK"' EXIT
EP=http://127.0.0.1:$PORT
until curl -s -o /dev/null "$EP/moto-api/"; do sleep 0.1; done
unset AWS_CA_BUNDLE # loopback http: a CA bundle from the environment only trips rclone
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret RESTIC_PASSWORD=bench
curl -s -o /dev/null -X PUT "$EP/bench"
cd "$WORK"
: > times

# measure LABEL CMD...: appends "LABEL<TAB>seconds<TAB>KiB" to times
measure() {
	local label=$1; shift
	sync
	if ! /usr/bin/time -v -o tv "$@" >/dev/null 2>err; then
		echo "$label failed: $(tail -3 err)" >&2
		return 0
	fi
	awk -v l="$label" -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i] }
		/Maximum resident set size/ { m = $2 }
		END { printf "%s\t%.2f\t%d\n", l, s, m }' tv >> times
}

mkdir -p ws/model ws/files && cd ws
head -c $((SIZE << 20)) /dev/urandom > model/model.bin
python3 - "$FILES" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    d = "files/d%03d" % (i % 1000)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%06d" % (d, i), "wb") as f:
        f.write(os.urandom(10240))
PY
"$XTRK" init -q && git config -f .xtrk/config capture.python false
"$XTRK" commit-run -e model --model model/model.bin >/dev/null 2>&1
"$XTRK" commit-run -e files -d files >/dev/null 2>&1
cd "$WORK"
cat > rclone.conf <<C
[s3]
type = s3
provider = Other
env_auth = true
endpoint = $EP
C
have() { case " $TOOLS " in *" $1 "*) [ "$1" = xtrk ] || command -v "$1" >/dev/null ;; *) return 1 ;; esac; }
# job NAME ROUND: one measured transfer
job() {
	local r=$2
	case $1 in
	xtrk-up-model) measure "xtrk push: ${SIZE} MiB model" "$XTRK" -C ws push m$r -e model ;;
	xtrk-up-files) measure "xtrk push: $FILES files of 10 KiB" "$XTRK" -C ws push f$r -e files ;;
	xtrk-down-model) measure "xtrk pull: ${SIZE} MiB model" "$XTRK" -C pm$r pull s ;;
	xtrk-down-files) measure "xtrk pull: $FILES files" "$XTRK" -C pf$r pull s ;;
	rclone-up-model) measure "rclone copy up: ${SIZE} MiB model" rclone --config rclone.conf $RCLONE_FLAGS copy ws/model s3:bench/rclone-model-$r ;;
	rclone-up-files) measure "rclone copy up: $FILES files" rclone --config rclone.conf $RCLONE_FLAGS copy ws/files s3:bench/rclone-files-$r ;;
	rclone-down-model) measure "rclone copy down: ${SIZE} MiB model" rclone --config rclone.conf $RCLONE_FLAGS copy s3:bench/rclone-model-$r dm$r ;;
	rclone-down-files) measure "rclone copy down: $FILES files" rclone --config rclone.conf $RCLONE_FLAGS copy s3:bench/rclone-files-$r df$r ;;
	restic-up-model) measure "restic backup: ${SIZE} MiB model" restic -r "s3:$EP/bench/restic-model-$r" backup ws/model ;;
	restic-up-files) measure "restic backup: $FILES files" restic -r "s3:$EP/bench/restic-files-$r" backup ws/files ;;
	esac
}
# group ROUND JOB...: the jobs of the installed tools, the order turned by one each round
group() {
	local r=$1; shift
	local jobs=() i
	for j in "$@"; do have "${j%%-*}" && jobs+=("$j"); done
	for i in "${!jobs[@]}"; do job "${jobs[(i + r) % ${#jobs[@]}]}" "$r"; done
}
model_id=$(xxhsum -H2 ws/model/model.bin | cut -d" " -f1) # the model's ID, stored whole or as chunks
for r in $(seq "$ROUNDS"); do
	"$XTRK" -C ws remote add m$r s3://bench/xtrk-model-$r --endpoint "$EP" 2>/dev/null
	"$XTRK" -C ws remote add f$r s3://bench/xtrk-files-$r --endpoint "$EP" 2>/dev/null
	mkdir pm$r pf$r
	(cd pm$r && "$XTRK" init -q && "$XTRK" remote add s s3://bench/xtrk-model-$r --endpoint "$EP" 2>/dev/null)
	(cd pf$r && "$XTRK" init -q && "$XTRK" remote add s s3://bench/xtrk-files-$r --endpoint "$EP" 2>/dev/null)
	! have restic || restic -r "s3:$EP/bench/restic-model-$r" init >/dev/null 2>&1
	! have restic || restic -r "s3:$EP/bench/restic-files-$r" init >/dev/null 2>&1
	group $r xtrk-up-model rclone-up-model restic-up-model
	group $r xtrk-up-files rclone-up-files restic-up-files
	group $r xtrk-down-model rclone-down-model
	group $r xtrk-down-files rclone-down-files
	# what came down is what went up
	if have xtrk; then
		"$XTRK" -C pm$r cat-object "$model_id" | cmp -s - ws/model/model.bin || echo "xtrk pull: the model differs" >&2
		[ "$("$XTRK" -C pf$r log -e files 2>/dev/null | wc -l)" -ge 2 ] || echo "xtrk pull: no run of files" >&2
	fi
	if have rclone; then
		cmp -s ws/model/model.bin dm$r/model.bin || echo "rclone: the model differs" >&2
		[ "$(find df$r -type f | wc -l)" = "$FILES" ] || echo "rclone: not every file came down" >&2
	fi
	rm -rf pm$r pf$r dm$r df$r
done
for t in rclone restic; do
	have $t || echo "($t not measured: not in --tools, or not installed: apt-get install $t)" >&2
done
! have rclone || echo "$(rclone version | head -1); flags: $RCLONE_FLAGS"
echo "$ROUNDS round(s), medians; moto_server $(python3 -c 'import moto; print(moto.__version__)') on loopback; $(nproc) CPU cores"
echo
echo "| what | wall | peak RSS | xtrk / rclone |"
echo "| --- | --- | --- | --- |"
python3 - times <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    l, s, m = line.rstrip("\n").split("\t")
    rows.setdefault(l, []).append((float(s), int(m)))
med = {l: (statistics.median(s for s, _ in v), statistics.median(m for _, m in v), len(v)) for l, v in rows.items()}
def twin(l):
    for a, b in (("xtrk push: ", "rclone copy up: "), ("xtrk pull: ", "rclone copy down: ")):
        if l.startswith(a):
            rest = l[len(a):].replace(" of 10 KiB", "")
            return b + rest
def order(l):
    tool = ["xtrk", "rclone", "restic"].index(l.split()[0])
    return ("pull" in l or "down" in l, "files" in l, tool)
for l, (s, m, n) in sorted(med.items(), key=lambda kv: order(kv[0])):
    t = twin(l)
    ratio = "%.2fx" % (s / med[t][0]) if t in med and med[t][0] > 0 else ""
    print("| %s | %.2f s | %d MiB | %s |" % (l, s, m // 1024, ratio))
PY
