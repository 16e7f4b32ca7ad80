#!/bin/sh
# Write seed inputs for the fuzz targets into tests/fuzz/corpus/<target>/ from a small real store.
# usage: tests/fuzz/make-seeds.sh [XTRK_BIN]   (run from the source tree after make)
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
xtrk=${1:-$src/xtrk}
corpus=$src/tests/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus/bundle" "$corpus/tree" "$corpus/run" "$corpus/object"

cd "$work"
git init -q . && printf 'print(1)\n' > train.py && git add . && git -c user.name=s -c user.email=s@s commit -qm s
echo "# dirty" >> train.py
mkdir -p data/sub && echo a > data/a && echo b > data/sub/b && head -c 3000 /dev/zero > model.bin
"$xtrk" init -q . && git config -f .xtrk/config capture.python false
run=$("$xtrk" commit-run -e seed -d data --model model.bin -p lr=0.1 --metric acc=0.5 --tag t1)
"$xtrk" bundle create -o "$corpus/bundle/good.tar" --with-source "$run" 2>/dev/null
"$xtrk" bundle create -o "$corpus/bundle/good.tar.gz" --no-data "$run" 2>/dev/null
for c in dotdot symlink hardlink device fifo duplicate badhash truncated longpath badjson manifest-type run-type no-manifest; do
	python3 "$src/tests/helpers/mkbundle.py" "$corpus/bundle/good.tar" $c "$corpus/bundle/$c.tar" 2>/dev/null || true
done
"$xtrk" cat-object "$run" > "$corpus/run/record.json"
printf '{"experiment":"x","datasets":[{"name":"d","path":"../x","kind":"tree","id":"00"}]}' > "$corpus/run/bad-path.json"
cp "$src/tests/data/golden-tree.txt" "$corpus/tree/golden.txt"
tree=$("$xtrk" show "$run" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["datasets"][0]["id"])')
"$xtrk" cat-object "$tree" > "$corpus/tree/data.txt"
# objects: a loose one (selector byte 0) and a pack with its index (selector 1, then the index length)
big=$(head -c 600000 /dev/urandom | tee big.bin | xxhsum -H2 - | cut -d' ' -f1)
"$xtrk" hash-object -w big.bin > /dev/null
loose=$(find .xtrk/objects -path '*/pack' -prune -o -path '*/tmp' -prune -o -type f -print | head -n 1)
{ printf '\000'; head -c 2000 "$loose"; } > "$corpus/object/loose-head"
idx=$(ls .xtrk/objects/pack/*.idx | head -n 1)
python3 - "$idx" "${idx%.idx}.pack" "$corpus/object/pack" <<'PY'
import struct, sys
idx, pack = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(b"\x01" + struct.pack("<I", len(idx)) + idx + pack)
PY
echo "seeds written to $corpus"
