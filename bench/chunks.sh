#!/usr/bin/env bash
# Large files stored as chunks, side by side in one run with git-lfs, restic and borg:
#   (a) synthetic: a 256 MiB file, 5 versions, each changing 10% of its bytes (overwritten
#       stretches, and insertions and deletions that shift what follows): the store's size after
#       each version and each commit's time; xtrk also with chunking off, and at three chunk sizes;
#   (b) real: fine-tuning a small torch model (Debian's python3-torch), a checkpoint each epoch,
#       committed with `xtrk commit-run`: the store's size against the others';
#   (c) committing a mostly unchanged 1 GiB checkpoint (and a new one) against cp + sync.
#
#   bench/chunks.sh [--mib N] [--big-mib N] [--rounds R] [--work DIR] [--skip-torch] [--skip-synthetic]
#
# Prints Markdown tables for bench/RESULTS.md.  Needs: xtrk built in the source tree, git,
# git-lfs, restic, borg (apt-get install git-lfs restic borgbackup), /usr/bin/python3 with torch
# (apt-get install python3-torch) for (b).
set -euo pipefail

MIB=256
BIG_MIB=1024
ROUNDS=3
TORCH=1
SYNTH=1
WORK=${TMPDIR:-/tmp}/xtrk-bench-chunks
while [ $# -gt 0 ]; do
	case "$1" in
	--mib) MIB=$2; shift 2 ;;
	--big-mib) BIG_MIB=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--work) WORK=$2; shift 2 ;;
	--skip-torch) TORCH=0; shift ;;
	--skip-synthetic) SYNTH=0; shift ;;
	*) echo "usage: $0 [--mib N] [--big-mib N] [--rounds R] [--work DIR] [--skip-torch]" >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
XTRK=$here/xtrk
for tool in git git-lfs restic borg python3; do
	command -v $tool >/dev/null || { echo "bench: '$tool' is missing (apt-get install git-lfs restic borgbackup)" >&2; exit 1; }
done
[ -x "$XTRK" ] || { echo "bench: build xtrk first" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$WORK/gitconfig HOME=$WORK
git config --global user.name bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main
export RESTIC_PASSWORD=bench BORG_PASSPHRASE= BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

now() { date +%s.%N; }
bytes() { du -sb "$1" | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# ---- the sequences ----

# versions.py DIR MIB N: v1 random, then each version changes 10% of the bytes of the one before:
# 20 overwritten stretches (9%), 8 insertions and 8 deletions of 16 KiB (1%, shifting what follows).
cat > versions.py <<'EOF'
import random, sys
d, mib, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(20)
size = mib << 20
data = bytearray()
while len(data) < size:
    data += r.randbytes(min(size - len(data), 1 << 24))
open(f"{d}/v1", "wb").write(data)
for v in range(2, n + 1):
    stretch = int(size * 0.09 / 20)
    for _ in range(20):
        at = r.randrange(0, len(data) - stretch)
        data[at:at + stretch] = r.randbytes(stretch)
    for _ in range(8):
        at = r.randrange(0, len(data))
        data[at:at] = r.randbytes(16384)
        at = r.randrange(0, len(data) - 16384)
        del data[at:at + 16384]
    open(f"{d}/v{v}", "wb").write(data)
EOF

# store TOOL DIR FILE: commit FILE (already in place as DIR/model.bin) with TOOL; prints seconds.
commit() {
	local tool=$1 dir=$2 t0 t1
	t0=$(now)
	case $tool in
	xtrk*) (cd "$dir" && "$XTRK" commit-run -q -e bench --model model.bin >/dev/null) ;;
	git-lfs) (cd "$dir" && git add model.bin && git commit -q -m v) ;;
	restic) restic -q -r "$dir.repo" backup "$dir/model.bin" >/dev/null ;;
	borg) borg create "$dir.repo::v$(date +%s%N)" "$dir/model.bin" ;;
	esac
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

setup() {
	local tool=$1 dir=$2 avg=${3:-}
	rm -rf "$dir" "$dir.repo"
	mkdir -p "$dir"
	case $tool in
	xtrk*) (cd "$dir" && git init -q && "$XTRK" init -q >/dev/null)
		case $tool in
		xtrk-whole) git config -f "$dir/.xtrk/config" core.chunkThreshold 0 ;;
		xtrk-*) git config -f "$dir/.xtrk/config" core.chunkSize "${tool#xtrk-}" ;;
		esac
		# A first commit-run probes the environment (cached): not what is measured.
		(cd "$dir" && "$XTRK" commit-run -q -e warm >/dev/null) ;;
	git-lfs) (cd "$dir" && git init -q && git lfs install --local >/dev/null && git lfs track model.bin >/dev/null &&
		git add .gitattributes && git commit -q -m attrs) ;;
	restic) restic -q -r "$dir.repo" init >/dev/null ;;
	borg) borg init -e none "$dir.repo" 2>/dev/null ;;
	esac
}

store_bytes() {
	local tool=$1 dir=$2
	case $tool in
	xtrk*) bytes "$dir/.xtrk" ;;
	git-lfs) bytes "$dir/.git" ;;
	restic|borg) bytes "$dir.repo" ;;
	esac
}

# sequence NAME FILES...: every tool commits the files in turn; a table of store size and time.
sequence() {
	local name=$1 tools=$2
	shift 2
	local first=$(stat -c %s "$1")
	echo
	echo "### $name: $# versions of about $(mib $first) MiB"
	echo
	printf "| version |"
	for t in $tools; do printf " %s size (MiB) | %s added | %s commit (s) |" "$t" "$t" "$t"; done
	echo
	printf "| --- |"
	for t in $tools; do printf " ---: | ---: | ---: |"; done
	echo
	declare -A prev
	for t in $tools; do setup $t "$WORK/s-$t"; prev[$t]=$(store_bytes $t "$WORK/s-$t"); done
	local v=0
	for f in "$@"; do
		v=$((v + 1))
		printf "| v%d |" $v
		for t in $tools; do
			cp "$f" "$WORK/s-$t/model.bin"
			sync
			local s=$(commit $t "$WORK/s-$t")
			local b=$(store_bytes $t "$WORK/s-$t")
			local add=$((b - prev[$t]))
			prev[$t]=$b
			printf " %s | %s%% | %s |" "$(mib $b)" "$(awk -v a=$add -v f=$first 'BEGIN { printf "%.1f", 100 * a / f }')" "$s"
		done
		echo
	done
	for t in $tools; do rm -rf "$WORK/s-$t" "$WORK/s-$t.repo"; done
}

if [ $SYNTH = 1 ]; then
mkdir -p syn
python3 versions.py syn "$MIB" 5
echo "## (a) synthetic: $MIB MiB, 5 versions, each changing 10% of the bytes (stretches overwritten, insertions, deletions)"
sequence "synthetic" "xtrk xtrk-whole git-lfs restic borg" syn/v1 syn/v2 syn/v3 syn/v4 syn/v5
sequence "synthetic, xtrk at three average chunk sizes" "xtrk-65536 xtrk-262144 xtrk-1048576" syn/v1 syn/v2 syn/v3 syn/v4 syn/v5
rm -rf syn
fi

# ---- (b) fine-tuning a torch model ----
if [ $TORCH = 1 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	mkdir -p ft
	cat > ft/train.py <<'EOF'
# Fine-tune a small pretrained-like model: the embedding and first blocks frozen, the last blocks
# and the head trained; a checkpoint (torch.save of the state dict) after each epoch.
import sys, torch
torch.manual_seed(0)
torch.set_num_threads(2)
out, epochs = sys.argv[1], int(sys.argv[2])
vocab, dim, blocks, classes = 16000, 512, 8, 10
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.EmbeddingBag(vocab, dim)
        self.blocks = torch.nn.ModuleList(torch.nn.Linear(dim, dim) for _ in range(blocks))
        self.head = torch.nn.Linear(dim, classes)
    def forward(self, x):
        h = self.emb(x)
        for b in self.blocks:
            h = torch.relu(b(h)) + h
        return self.head(h)
net = Net()
for p in list(net.emb.parameters()) + [p for b in net.blocks[:6] for p in b.parameters()]:
    p.requires_grad = False
opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-3)
x = torch.randint(0, vocab, (2048, 32))
y = torch.randint(0, classes, (2048,))
for epoch in range(1, epochs + 1):
    for i in range(0, len(x), 128):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x[i:i + 128]), y[i:i + 128])
        loss.backward()
        opt.step()
    torch.save(net.state_dict(), f"{out}/ckpt-{epoch}.pt")
    print(f"epoch {epoch} loss {loss.item():.4f}", file=sys.stderr)
EOF
	t0=$(now)
	/usr/bin/python3 ft/train.py ft 5 2>/dev/null
	echo
	echo "## (b) fine-tuning (torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), 5 epochs in $(awk -v a=$t0 -v b=$(now) 'BEGIN { printf "%.0f", b - a }') s; embedding and 6 of 8 blocks frozen)"
	# The checkpoints as a training run leaves them, each committed with commit-run as the run's model.
	sequence "checkpoints" "xtrk xtrk-whole git-lfs restic borg" ft/ckpt-1.pt ft/ckpt-2.pt ft/ckpt-3.pt ft/ckpt-4.pt ft/ckpt-5.pt
	rm -rf ft
fi

# ---- (c) a mostly unchanged 1 GiB checkpoint against cp + sync ----
echo
echo "## (c) committing a $BIG_MIB MiB checkpoint against cp + sync (medians of $ROUNDS rounds)"
echo
mkdir -p big && cd big && git init -q && "$XTRK" init -q >/dev/null && "$XTRK" commit-run -q -e warm >/dev/null
head -c $((BIG_MIB << 20)) /dev/urandom > model.bin
sync
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# timed NAME CMD...: run CMD, add its wall and CPU (user + system) seconds to NAME_wall and NAME_cpu.
declare -A wall cpu
timed() {
	local name=$1
	shift
	/usr/bin/time -f "%e %U %S" -o "$WORK/t" "$@" >/dev/null
	wall[$name]="${wall[$name]:-} $(cut -d" " -f1 "$WORK/t")"
	cpu[$name]="${cpu[$name]:-} $(awk '{ printf "%.2f", $2 + $3 }' "$WORK/t")"
}
cpsync='cp model.bin ../cp.bin && sync && rm -f ../cp.bin'
change() { python3 -c "
import os, sys
f = open('model.bin', 'r+b')
size = os.path.getsize('model.bin')
for i in range(16):
    f.seek(i * (size // 16) + 4096 * $1)
    f.write(os.urandom(size // 1600))
"; sync; }
for r in $(seq 1 $ROUNDS); do
	# A new file each round (its first commit), then 1% changed in 16 stretches (a later one).
	head -c $((BIG_MIB << 20)) /dev/urandom > model.bin
	sync
	timed new-commit "$XTRK" commit-run -q -e big --model model.bin
	timed new-cp sh -c "$cpsync"
	change $r
	timed changed-commit "$XTRK" commit-run -q -e big --model model.bin
	# Restoring it: checkout of the file stored as chunks (every chunk and the whole verified).
	run=$("$XTRK" log -e big --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
	timed checkout sh -c "'$XTRK' checkout --no-source -C ../co $run && sync && rm -rf ../co"
	timed checkout-cp sh -c "$cpsync"
	timed changed-cp sh -c "$cpsync"
	# The store's write path alone, without a run record: hash-object -w of another 1% change.
	change $((r + 100))
	timed changed-hash "$XTRK" hash-object -w model.bin
	timed changed-hash-cp sh -c "$cpsync"
done
cd ..
row() {
	local what=$1 x=$2 c=$3 mx mc
	mx=$(median ${wall[$x]}) mc=$(median ${wall[$c]})
	echo "| $what | $mx | $mc | $(awk -v a=$mx -v b=$mc 'BEGIN { printf "%.2fx", a / b }') | $(median ${cpu[$x]}) | $(median ${cpu[$c]}) |"
}
echo "| work | xtrk (s) | cp + sync (s) | ratio | xtrk CPU (s) | cp + sync CPU (s) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
row "commit-run a new $BIG_MIB MiB file" new-commit new-cp
row "commit-run it again with 1% changed" changed-commit changed-cp
row "hash-object -w it with another 1% changed" changed-hash changed-hash-cp
row "checkout of it (the file restored, verified)" checkout checkout-cp
echo
for k in "${!wall[@]}"; do echo "rounds $k:${wall[$k]} (CPU${cpu[$k]})"; done | sort
rm -rf "$WORK"
