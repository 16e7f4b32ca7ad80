#!/bin/sh
# xtrk report on many long series, side by side with an older build:
#   bench/report.sh [--against OLD/xtrk] [--runs N] [--steps S] [--rounds R]
# Makes a workspace of N runs (bench/mkruns --series S: each run its own series of S steps,
# 3 metrics), then per round: the time and peak memory of `xtrk report` (this build, and OLD),
# the file's size, and the wall time of headless Chromium loading it until the page says it is
# ready with every chart drawn (and of an empty page, Chromium's own start).
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
X=$here/xtrk old= runs=1000 steps=10000 rounds=3
while [ $# -gt 0 ]; do
	case $1 in
	--against) old=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	*) echo "usage: $0 [--against OLD/xtrk] [--runs N] [--steps S] [--rounds R]" >&2; exit 2 ;;
	esac
done
[ -x "$here/bench/mkruns" ] || make -C "$here" bench/mkruns >/dev/null
w=$(mktemp -d "${TMPDIR:-/tmp}/xtrk-bench-report.XXXXXX")
trap 'rm -rf "$w"' EXIT
cd "$w"
git init -q && git config user.email b@b && git config user.name b && echo x > f && git add f && git commit -qm x
"$X" init >/dev/null
echo '{"step": 0, "loss": 1}' > s.jsonl
"$X" commit-run -e mnist -M s.jsonl -p lr=0.1 >/dev/null 2>&1
"$X" show --json mnist > tmpl.json
"$here/bench/mkruns" . tmpl.json $((runs - 1)) --series "$steps"
"$X" log --json >/dev/null 2>&1 # the index, made once before timing
echo "<!DOCTYPE html><p>x" > empty.html
state() { python3 -c '
import html, json, re, sys
m = re.search(r"<pre id=\"xtrk-state\"[^>]*>([^<]*)</pre>", sys.stdin.read())
s = json.loads(html.unescape(m.group(1))) if m else {}
print("ready=%s drawn=%s/%s errors=%d" % (s.get("ready"), s.get("drawn"), s.get("charts"), len(s.get("errors", []))))'; }
browse() { /usr/bin/time -f "%e" -o "$w/t" timeout 300 chromium --headless --no-sandbox --disable-gpu \
	--window-size=1280,2000 --virtual-time-budget=120000 --user-data-dir="$w/chrome" --dump-dom "file://$w/$1" 2>/dev/null; }
r=1
while [ $r -le $rounds ]; do
	for b in new ${old:+old}; do
		bin=$X; [ $b = old ] && bin=$old
		/usr/bin/time -f "%e %M" -o "$w/t" "$bin" report -o "$b.html" >/dev/null 2>&1
		echo "round $r $b: report $(cut -d' ' -f1 "$w/t") s, peak $(( $(cut -d' ' -f2 "$w/t") / 1024 )) MiB, file $(( $(wc -c < "$b.html") / 1048576 )) MiB"
	done
	s=$(browse new.html | state); echo "round $r new: chromium $(cat "$w/t") s ($s)"
	browse empty.html > /dev/null; echo "round $r empty page: chromium $(cat "$w/t") s"
	r=$((r + 1))
done
