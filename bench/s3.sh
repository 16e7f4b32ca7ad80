#!/usr/bin/env bash
# Push to an S3-compatible server on loopback (moto_server), side by side with `rclone copy` and
# `restic backup` to the same server when they are installed: one large model, and many small files.
# Each tool starts from an empty prefix; wall time and peak memory (max RSS) of each.
#
#   bench/s3.sh [--size-mib N] [--files N]     (defaults: 1024 MiB; 100000 files of 10 KiB)
set -euo pipefail
SIZE=1024
FILES=100000
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mib) SIZE=$2; shift 2 ;;
	--files) FILES=$2; shift 2 ;;
	*) echo "usage: $0 [--size-mib N] [--files N]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=$here/xtrk
command -v moto_server >/dev/null || { echo "moto_server is not installed" >&2; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-bench-s3.XXXXXX")
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null; rm -rf "$WORK"' EXIT
EP=http://127.0.0.1:$PORT
until curl -s -o /dev/null "$EP/moto-api/"; do sleep 0.1; done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret RESTIC_PASSWORD=bench
curl -s -o /dev/null -X PUT "$EP/bench"
cd "$WORK"

# measure LABEL CMD...: wall seconds and peak RSS (MiB) of CMD
measure() {
	local label=$1; shift
	local s e
	sync
	s=$(date +%s%N)
	/usr/bin/time -f %M -o rss "$@" >/dev/null 2>err || { echo "$label failed: $(tail -3 err)" >&2; return 0; }
	e=$(date +%s%N)
	printf '| %s | %d.%03d s | %d MiB |\n' "$label" $(( (e - s) / 1000000000 )) $(( (e - s) / 1000000 % 1000 )) $(( $(cat rss) / 1024 ))
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
"$XTRK" remote add m s3://bench/xtrk-model --endpoint "$EP" 2>/dev/null
"$XTRK" remote add f s3://bench/xtrk-files --endpoint "$EP" 2>/dev/null
cd "$WORK"
echo "| what | wall | peak RSS |"
echo "| --- | --- | --- |"
measure "xtrk push: ${SIZE} MiB model" "$XTRK" -C ws push m -e model
measure "xtrk push: $FILES files of 10 KiB" "$XTRK" -C ws push f -e files
if command -v rclone >/dev/null; then
	cat > rclone.conf <<-C
	[s3]
	type = s3
	provider = Other
	env_auth = true
	endpoint = $EP
	C
	measure "rclone copy: ${SIZE} MiB model" rclone --config rclone.conf copy ws/model s3:bench/rclone-model
	measure "rclone copy: $FILES files" rclone --config rclone.conf copy ws/files s3:bench/rclone-files
else
	echo "| rclone | not installed | |"
fi
if command -v restic >/dev/null; then
	restic -r "s3:$EP/bench/restic-model" init >/dev/null 2>&1
	restic -r "s3:$EP/bench/restic-files" init >/dev/null 2>&1
	measure "restic backup: ${SIZE} MiB model" restic -r "s3:$EP/bench/restic-model" backup ws/model
	measure "restic backup: $FILES files" restic -r "s3:$EP/bench/restic-files" backup ws/files
else
	echo "| restic | not installed | |"
fi
