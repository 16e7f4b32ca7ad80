#!/bin/sh
# Write seed inputs for the fuzz targets into tests/fuzz/corpus/<target>/ from a small real store.
# usage: tests/fuzz/make-seeds.sh [XTRK_BIN]   (run from the source tree after make)
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
xtrk=${1:-$src/xtrk}
corpus=$src/tests/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus/bundle" "$corpus/tree" "$corpus/run" "$corpus/object" "$corpus/path"

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
# path: selector 0 a path, 1 a git diff, 2 a git tree object's body (hostile forms of each)
i=0
for p in ok/file.txt .xtrk/refs/tags/x .XTRK/config.lock a/.Xtrk/x .git/hooks/x 'GIT~1/c' '.git./c' '.xtrk /c' \
	../outside /etc/passwd a//b a/./b a/ "$(printf 'x\033[2J')" "$(printf 'tab\tx')" .gitignore '...'; do
	printf '\000%s' "$p" > "$corpus/path/path-$i"; i=$((i+1))
done
for p in train.py .xtrk/refs/tags/x .XTRK/config.lock a/.git/config ../outside/victim; do
	printf '\001diff --git a/%s b/%s\nnew file mode 100644\nindex 0000000..e69de29\n--- /dev/null\n+++ b/%s\n@@ -0,0 +1 @@\n+owned\n' \
		"$p" "$p" "$p" > "$corpus/path/patch-$i"; i=$((i+1))
done
printf '\001diff --git a/train.py b/.git/config\nsimilarity index 100%%\nrename from train.py\nrename to .git/config\n' \
	> "$corpus/path/patch-rename"
printf '\001diff --git "a/x\\033]52;c;x" "b/x\\033]52;c;x"\nnew file mode 100644\n--- /dev/null\n+++ "b/x\\033]52;c;x"\n@@ -0,0 +1 @@\n+x\n' \
	> "$corpus/path/patch-escape"
python3 - "$corpus/path" <<'PY'
import hashlib, sys
blob = bytes.fromhex(hashlib.sha1(b"blob 6\0owned\n").hexdigest())
def tree(entries):
    return b"".join(mode + b" " + name + b"\0" + oid for mode, name, oid in entries)
sub = tree([(b"100644", b"x", blob)])
subid = bytes.fromhex(hashlib.sha1(b"tree %d\0" % len(sub) + sub).hexdigest())
cases = {
    "tree-ok": [(b"100644", b"a.py", blob)],
    "tree-xtrk": [(b"40000", b".xtrk", subid)],
    "tree-XTRK-file": [(b"100644", b".XTRK", blob)],
    "tree-git": [(b"40000", b".GIT", subid)],
    "tree-dotdot": [(b"40000", b"..", subid)],
    "tree-empty-name": [(b"100644", b"", blob)],
    "tree-control": [(b"100644", b"a\x1b[2J", blob)],
    "tree-file-and-folder": [(b"100644", b"src", blob), (b"40000", b"src", subid)],
    "tree-twice": [(b"100644", b"a", blob), (b"100644", b"a", blob)],
}
for name, entries in cases.items():
    open("%s/%s" % (sys.argv[1], name), "wb").write(b"\x02" + tree(entries))
# params (first byte: 0 YAML, 1 JSON, 2 either, 3 -p KEY=VALUE) and queries, deep nesting among them
mkdir -p "$corpus/params" "$corpus/query"
python3 - "$corpus" <<'PY'
import os, sys
c = sys.argv[1]
def w(sub, name, data):
    open(os.path.join(c, sub, name), "wb").write(data if isinstance(data, bytes) else data.encode())
w("params", "yaml-plain", "\x00lr: 0.1\nopt: adam\nlayers: [32, 64]\nmodel:\n  depth: 3\n  act: relu\nseed: 7\n")
w("params", "yaml-scalars", "\x00a: ~\nb: true\nc: .inf\nd: .nan\ne: '1e400'\nf: -0.0\ng: 0x1f\nh: 1_000\n")
w("params", "yaml-overflow", "\x00lr: 1e400\nn: 99999999999999999999\n")
w("params", "yaml-deep-flow", "\x00a: " + "[" * 100000 + "]" * 100000 + "\n")
w("params", "yaml-deep-block", "\x00" + "".join(" " * i + "k:\n" for i in range(200)) + " " * 200 + "k: 1\n")
w("params", "yaml-at-limit", "\x00a: " + "[" * 63 + "]" * 63 + "\n")
w("params", "yaml-alias", "\x00a: &x 1\nb: *x\n")
w("params", "yaml-two-docs", "\x00a: 1\n---\nb: 2\n")
w("params", "json-plain", '\x01{"lr": 0.1, "model": {"depth": 3}, "tags": ["a", "b"]}')
w("params", "json-overflow", '\x01{"lr": 1e400}')
w("params", "json-deep", '\x01{"a": ' + "[" * 3000 + "]" * 3000 + "}")
w("params", "json-deep-objects", '\x01' + '{"a":' * 100 + "1" + "}" * 100)
w("params", "either-deep", '\x02{"a": ' + "[" * 3000 + "]" * 3000 + "}")
w("params", "p-plain", "\x03model.depth=3")
w("params", "p-deep-key", "\x03" + ".".join(["k"] * 10000) + "=1")
w("params", "p-deep-value", "\x03" + ".".join(["k"] * 60) + "=" + "[" * 10 + "]" * 10)
w("params", "p-overflow", "\x03lr=1e400")
w("params", "p-nan", "\x03lr=nan")
w("query", "simple", "params.lr < 0.05 and not (params.opt == 'sgd' or tags contains 'x')")
w("query", "regex", 'params.opt ~ "^ad(am|amw)?$" or params.s ~ "a+!"')
w("query", "regex-backtrack", 'params.s ~ "(a+)+$"')
w("query", "regex-repeat", 'params.s ~ "a{1000}{1000}" or params.s ~ "((a{100}){100}){100}"')
w("query", "regex-long", 'params.s ~ "' + "a" * 2000 + '"')
w("query", "deep-not", "not " * 30000 + "params.lr")
w("query", "deep-parens", "(" * 30000 + "params.lr" + ")" * 30000)
w("query", "long-and", " and ".join(["params.lr"] * 10000))
w("query", "at-limit", "(" * 32 + "not " * 31 + "params.lr" + ")" * 32)
PY
echo "seeds written to $corpus"
