#!/bin/sh
# Remake docs/report.png and docs/report-views.png, pictures of what `xtrk report` shows: four runs
# of a small training sweep (tags, a note, step series, one run derived from another), the top of
# the page and the whole page (parallel coordinates, two runs side by side, the lineage), drawn by
# headless Chromium.  Needs a built xtrk and chromium.
#   docs/report-screenshot.sh [path/to/xtrk]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
xtrk=${1:-$here/xtrk}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
git init -q . && "$xtrk" init > /dev/null
for lr in 0.3 0.1 0.03 0.01; do
	python3 - "$lr" > train.jsonl <<'PY'
import json, math, random, sys
lr = float(sys.argv[1])
random.seed(int(lr * 1000))
for s in range(0, 3000, 10):
    loss = 2.3 * math.exp(-s * lr / 150) + 0.08 + 0.03 * random.random()
    print(json.dumps({"step": s, "loss": round(loss, 4), "acc": round(min(0.99, 1.05 - loss / 2.3), 4)}))
PY
	parent=; [ "$lr" = 0.01 ] && parent="--parent sweep~1"
	"$xtrk" commit-run -e sweep -M train.jsonl -p lr=$lr -p batch=64 -m "lr sweep, lr=$lr" $parent > /dev/null 2>&1
done
"$xtrk" tag sweep~2 best > /dev/null
"$xtrk" note best -m "Chosen for the next round: steadiest loss." > /dev/null
"$xtrk" report --title "lr sweep" --columns id,tags,params.lr,params.batch,metrics.loss,metrics.acc,message -o report.html
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1250 \
	--virtual-time-budget=10000 --screenshot="$here/docs/report.png" "file://$work/report.html" 2> /dev/null
id12() { "$xtrk" show --json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"][:12])'; }
a=$(id12 sweep~1) b=$(id12 sweep)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,3600 \
	--virtual-time-budget=10000 --screenshot="$here/docs/report-views.png" "file://$work/report.html#a=$a&b=$b" 2> /dev/null
echo "wrote $here/docs/report.png and $here/docs/report-views.png"
