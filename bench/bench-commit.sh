#!/usr/bin/env bash
# Commit benchmarks, side by side in one run: xtrk against cp, git lfs and restic
# for a large incompressible model, and against git add + commit for a 100,000-file dataset.
#
#   bench/bench-commit.sh [--model-mib N] [--files N] [--rounds R] [--work DIR]
#
# Prints a Markdown table of medians (seconds) and peak memory (MiB) for bench/RESULTS.md.
# Needs: xtrk built in the source tree, git, git-lfs, restic, /usr/bin/time.
set -euo pipefail

MODEL_MIB=1024
FILES=100000
ROUNDS=3
WORK=${TMPDIR:-/tmp}/xtrk-bench
while [ $# -gt 0 ]; do
	case "$1" in
	--model-mib) MODEL_MIB=$2; shift 2 ;;
	--files) FILES=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	*) echo "usage: $0 [--model-mib N] [--files N] [--rounds R] [--work DIR]" >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=$here/xtrk
for tool in git git-lfs restic /usr/bin/time; do
	command -v $tool >/dev/null || { echo "bench: '$tool' is missing (apt-get install git-lfs restic time)" >&2; exit 1; }
done
[ -x "$XTRK" ] || { echo "bench: build xtrk first (contrib/quickstart.sh check)" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$WORK/gitconfig HOME=$WORK
git config --global user.name bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main
export RESTIC_PASSWORD=bench

# measure NAME CMD...: run CMD under /usr/bin/time; append "NAME seconds maxrss_kib" to results.
measure() {
	local name=$1; shift
	sync  # start each measurement with no writeback pending from the one before
	/usr/bin/time -f "%e %M" -o "$WORK/t.out" "$@" >/dev/null 2>"$WORK/err.out" || {
		echo "bench: '$name' failed:" >&2; cat "$WORK/err.out" >&2; exit 1; }
	echo "$name $(cat "$WORK/t.out")" >> "$WORK/results"
}

new_xtrk() { rm -rf "$1/.xtrk"; "$XTRK" init -q "$1"; git config -f "$1/.xtrk/config" capture.python "${2:-true}"; }

echo "bench: making a ${MODEL_MIB} MiB random model and $FILES files of 10 KiB" >&2
head -c $((MODEL_MIB * 1024 * 1024)) /dev/urandom > model.bin
python3 - "$FILES" <<'PY'
import os, sys
n = int(sys.argv[1])
os.makedirs("data", exist_ok=True)
for i in range(n):
    d = f"data/{i // 1000:03d}"
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:06d}.bin", "wb") as f:
        f.write(os.urandom(10240))
PY
sync
# Old enough that the stat cache trusts them (it distrusts files changed within a second).
sleep 2

: > results
for r in $(seq 1 "$ROUNDS"); do
	echo "bench: round $r of $ROUNDS" >&2
	# --- the model ---
	rm -rf cp-dst && mkdir cp-dst
	measure cp cp model.bin cp-dst/model.bin
	rm -rf cp-dst && mkdir cp-dst
	measure cp+sync sh -c 'cp model.bin cp-dst/model.bin && sync'

	# Default settings; the store's Python cache is warm, as after a workspace's first commit.
	rm -rf ws && mkdir ws && ln model.bin ws/model.bin
	new_xtrk ws true
	"$XTRK" -C ws commit-run -q >/dev/null
	measure xtrk-model "$XTRK" -C ws commit-run --model ws/model.bin
	measure xtrk-model-again "$XTRK" -C ws commit-run --model ws/model.bin
	# A fresh store: the Python package probe runs during this commit.
	new_xtrk ws true
	measure xtrk-model-first-probe "$XTRK" -C ws commit-run --model ws/model.bin
	new_xtrk ws false
	measure xtrk-model-nopy "$XTRK" -C ws commit-run --model ws/model.bin
	measure xtrk-model-again-nopy "$XTRK" -C ws commit-run --model ws/model.bin

	rm -rf lfs && mkdir lfs && ln model.bin lfs/model.bin
	(cd lfs && git init -q . && git lfs install --local >/dev/null && git lfs track "*.bin" >/dev/null &&
		git add .gitattributes && git commit -qm attrs)
	measure git-lfs sh -c 'cd lfs && git add model.bin && git commit -qm model'

	rm -rf restic-repo && restic init -q --repo restic-repo >/dev/null
	measure restic restic -q --repo restic-repo backup model.bin

	# --- the 100k-file dataset ---
	rm -rf ws2 && mkdir ws2 && cp -al data ws2/data
	new_xtrk ws2 false
	measure xtrk-100k "$XTRK" -C ws2 commit-run -e ds -d ws2/data
	# Change one file (a new inode and mtime), then commit again.
	sub=$(ls ws2/data | sed -n "$(( ($(ls ws2/data | wc -l) + 1) / 2 ))p")
	f=$(ls ws2/data/$sub | sed -n 1p)
	cp ws2/data/$sub/$f ws2/data/$sub/.tmp && head -c 16 /dev/urandom >> ws2/data/$sub/.tmp && mv ws2/data/$sub/.tmp ws2/data/$sub/$f
	measure xtrk-100k-one-changed "$XTRK" -C ws2 commit-run -e ds -d ws2/data
	# Nine more changed files, so the newest run differs from the first in ten.
	for g in $(ls ws2/data | sed -n 2,10p); do
		f=$(ls ws2/data/$g | sed -n 1p)
		cp ws2/data/$g/$f ws2/data/$g/.tmp && head -c 16 /dev/urandom >> ws2/data/$g/.tmp && mv ws2/data/$g/.tmp ws2/data/$g/$f
	done
	"$XTRK" -C ws2 commit-run -q -e ds -d ws2/data >/dev/null
	measure xtrk-diff-100k-10-changed "$XTRK" -C ws2 diff --json ds~2 ds

	# Checkout of the model and the dataset into an empty folder, against cp -r of the same.
	rm -rf ws3 && mkdir ws3 && ln model.bin ws3/model.bin && cp -al data ws3/data
	new_xtrk ws3 false
	"$XTRK" -C ws3 commit-run -q -e co -d ws3/data --model ws3/model.bin >/dev/null
	rm -rf co-out cp-out
	measure cp-r sh -c 'mkdir cp-out && cp -r ws3/model.bin ws3/data cp-out/'
	measure xtrk-checkout "$XTRK" -C ws3 checkout -C co-out --no-source co
	rm -rf co-out cp-out ws3

	rm -rf gitds && mkdir gitds && cp -al data gitds/data && (cd gitds && git init -q .)
	measure git-100k sh -c 'cd gitds && git add data && git commit -qm data'
	rm -rf ws ws2 lfs gitds restic-repo cp-dst
done

python3 - "$WORK/results" "$MODEL_MIB" "$FILES" "$ROUNDS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, rss = line.split()
    rows.setdefault(name, []).append((float(secs), int(rss)))
med = {k: statistics.median(s for s, _ in v) for k, v in rows.items()}
peak = {k: max(m for _, m in v) / 1024 for k, v in rows.items()}
def ratio(a, b):
    return f"{med[a] / med[b]:.2f}x" if med.get(b) else "-"
print(f"Model: {sys.argv[2]} MiB of random bytes; dataset: {sys.argv[3]} files of 10 KiB; "
      f"median of {sys.argv[4]} rounds; page cache warm; times in seconds, peak RSS in MiB.\n")
print("| work | median s | peak MiB | ratio |")
print("| --- | ---: | ---: | --- |")
lines = [
    ("cp", None), ("cp+sync", None),
    ("xtrk-model", ("xtrk-model", "cp+sync")), ("xtrk-model-nopy", ("xtrk-model-nopy", "cp+sync")),
    ("xtrk-model-first-probe", ("xtrk-model-first-probe", "cp+sync")),
    ("git-lfs", ("xtrk-model", "git-lfs")), ("restic", ("xtrk-model", "restic")),
    ("xtrk-model-again", None), ("xtrk-model-again-nopy", None),
    ("git-100k", None), ("xtrk-100k", ("xtrk-100k", "git-100k")),
    ("xtrk-100k-one-changed", None),
    ("xtrk-diff-100k-10-changed", None),
    ("cp-r", None), ("xtrk-checkout", ("xtrk-checkout", "cp-r")),
]
for name, r in lines:
    if name not in med:
        continue
    rtxt = f"{ratio(*r)} ({r[0]} / {r[1]})" if r else ""
    print(f"| {name} | {med[name]:.3f} | {peak[name]:.1f} | {rtxt} |")
PY
