#!/bin/sh
# Large files stored as chunks: the file's ID stays its XXH3-128, a new version adds only the chunks
# that changed, every reader (cat-object, checkout, fsck, du, gc, bundles, folder remotes) reads
# through the chunk list, and hostile chunk lists are refused with nothing changed.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
# Small sizes keep the test quick: files of 1 MiB or more, chunks of 64 KiB on average (16-256 KiB).
git config -f .xtrk/config core.chunkThreshold 1m
git config -f .xtrk/config core.chunkSize 65536

# mkfile NAME BYTES SEED: reproducible pseudo-random bytes.
mkfile() { python3 -c 'import random,sys; r=random.Random(int(sys.argv[3])); open(sys.argv[1],"wb").write(r.randbytes(int(sys.argv[2])))' "$@"; }
objects_bytes() { du -sb "${1:-.}/.xtrk/objects" | cut -f1; }

check "a large file is stored as chunks under the file's own ID, and reads back whole" '
	mkfile model.bin 4000000 1
	before=$(objects_bytes)
	r1=$(xtrk commit-run -e ex --model model.bin)
	id=$(xtrk show $r1 --json | json_get models.0.id)
	expect_eq "$id" "$(xxhsum -H2 model.bin | cut -d" " -f1)"
	expect_eq "$(xtrk cat-object -t $id)" blob
	expect_eq "$(xtrk cat-object -s $id)" 4000000
	xtrk cat-object -p $id | cmp - model.bin
	# More than one object for the file: its chunks and their list.
	n=$(xtrk fsck --read-data 2>&1 | grep -o "checked [0-9]* objects" | grep -o "[0-9]*")
	[ "$n" -gt 20 ] || { echo "only $n objects"; exit 1; }
	echo $r1 > "$TRASH/r1"
'

check "a new version with bytes inserted and changed adds only the chunks that changed" '
	python3 -c "
d = bytearray(open(\"model.bin\", \"rb\").read())
d[100000:100000] = b\"inserted bytes that shift everything after them\"
d[2000000:2000500] = bytes(500)
open(\"model.bin\", \"wb\").write(d)"
	before=$(objects_bytes)
	r2=$(xtrk commit-run -e ex --model model.bin)
	added=$(( $(objects_bytes) - before ))
	# Two regions changed: a few chunks of 16-256 KiB each, at most a quarter of the 4 MB file.
	[ $added -lt 1000000 ] || { echo "added $added bytes"; exit 1; }
	xtrk fsck --read-data >/dev/null
	echo $r2 > "$TRASH/r2"
'

check "checkout restores a file stored as chunks byte for byte" '
	r1=$(cat "$TRASH/r1")
	mkfile orig.bin 4000000 1
	xtrk checkout --no-source -C "$TRASH/co" $r1 >/dev/null
	cmp "$TRASH/co/model.bin" orig.bin
'

check "du counts the chunks among the models, and gc keeps them while a run names the file" '
	xtrk du --json > du.json
	expect_eq "$(json_get kinds.unreachable.objects < du.json)" 0
	# Two versions of a 4 MB file: far less than 8 MB of models, as the chunks they share count once.
	[ "$(json_get kinds.models.bytes < du.json)" -lt 5000000 ]
	[ "$(json_get kinds.models.objects < du.json)" -gt 40 ]
	xtrk gc --prune=now >/dev/null
	xtrk fsck --read-data >/dev/null
	xtrk cat-object -p $(xxhsum -H2 model.bin | cut -d" " -f1) | cmp - model.bin
'

check "once a run is removed, the chunks only it needed are unreachable; gc keeps the rest whole" '
	r1=$(cat "$TRASH/r1")
	xtrk rm $r1 >/dev/null
	find .xtrk/refs/removed -type f -exec touch -d "1 hour ago" {} +
	xtrk gc --prune=now >/dev/null
	# The first version'"'"'s own chunks: no run reaches them (a pack holding mostly live ones stays as it is).
	xtrk du --json > du.json
	[ "$(json_get kinds.unreachable.objects < du.json)" -gt 0 ]
	xtrk fsck --read-data >/dev/null
	xtrk cat-object -p $(xxhsum -H2 model.bin | cut -d" " -f1) | cmp - model.bin
'

check "a bundle and a folder remote carry a file stored as chunks; the other store chunks it too" '
	r2=$(cat "$TRASH/r2")
	id=$(xxhsum -H2 model.bin | cut -d" " -f1)
	w=$PWD
	xtrk bundle create -o "$TRASH/b.tar" $r2 >/dev/null
	xtrk bundle verify "$TRASH/b.tar" >/dev/null
	mkdir "$TRASH/imp" && (cd "$TRASH/imp" && new_ws && git config -f .xtrk/config core.chunkSize 65536 &&
		git config -f .xtrk/config core.chunkThreshold 1m &&
		xtrk bundle import "$TRASH/b.tar" >/dev/null && xtrk cat-object -p $id | cmp - "$w/model.bin" &&
		xtrk fsck --read-data 2>&1 | grep " 0 problems" >/dev/null)
	xtrk remote add far "$TRASH/far" >/dev/null 2>&1 || true
	xtrk push far $r2 >/dev/null
	mkdir "$TRASH/pul" && (cd "$TRASH/pul" && new_ws && xtrk remote add far "$TRASH/far" >/dev/null &&
		xtrk pull far >/dev/null && xtrk cat-object -p $id | cmp - "$w/model.bin" &&
		xtrk checkout --no-source -C "$TRASH/co2" $r2 >/dev/null && cmp "$TRASH/co2/model.bin" "$w/model.bin")
'

check "core.chunkThreshold and core.chunkSize out of range are refused" '
	cp .xtrk/config config.keep
	git config -f .xtrk/config core.chunkThreshold 100
	expect_exit 2 xtrk log >/dev/null 2>err || expect_exit 1 xtrk log >/dev/null 2>err
	expect_contains "$(cat err)" "core.chunkThreshold"
	cp config.keep .xtrk/config
	git config -f .xtrk/config core.chunkSize 100000
	xtrk log >/dev/null 2>err && { echo "accepted a chunk size that is not a power of two"; exit 1; }
	expect_contains "$(cat err)" "core.chunkSize"
	cp config.keep .xtrk/config
'

# ---- hostile chunk lists ----
# A file committed whole (chunking off), whose stored object is then replaced by a crafted list.
cat > "$TRASH/mklist.py" <<'EOF'
import json, os, struct, sys
# mklist.py WS ID SPEC: plant a chunk list (type 4) under ID; SPEC: {"total", "chunks": [[id, size]...],
# optional "magic", "count" (the count field when it should lie)}.
ws, oid, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
chunks = spec["chunks"]
body = spec.get("magic", "XCHK").encode() + bytes([1, 0, 0, 0])
body += struct.pack("<QQ", spec["total"], spec.get("count", len(chunks)))
for cid, size in chunks:
    body += bytes.fromhex(cid) + struct.pack("<Q", size)
d = os.path.join(ws, ".xtrk", "objects", oid[:2])
os.makedirs(d, exist_ok=True)
p = os.path.join(d, oid[2:])
if os.path.exists(p):
    os.chmod(p, 0o644)
    os.unlink(p)
with open(p, "wb") as f:
    f.write(b"XTRK" + bytes([1, 4, 0, 0]) + struct.pack("<Q", len(body)) + bytes.fromhex(oid) + body)
EOF

mkdir "$TRASH/h" && cd "$TRASH/h" && new_git_repo && new_ws
git config -f .xtrk/config core.chunkThreshold 0
mkfile f.bin 1048576 7
mkfile p1.bin 524288 8
mkfile p2.bin 524288 9
X=$(xxhsum -H2 f.bin | cut -d" " -f1)
rh=$(xtrk commit-run -e ex --model f.bin)
c1=$(xtrk hash-object -w p1.bin)
c2=$(xtrk hash-object -w p2.bin)
# Two real chunks of f.bin itself, so that only the named defect is wrong.
head -c 524288 f.bin > h1.bin && tail -c 524288 f.bin > h2.bin
h1=$(xtrk hash-object -w h1.bin)
h2=$(xtrk hash-object -w h2.bin)
Y=0123456789abcdef0123456789abcdef
M=1048576 H=524288

# case NAME SPEC WANT: plant SPEC under X, then every reader must refuse it, naming the problem.
hostile() {
	hname=$1 hspec=$2 hwant=$3
	python3 "$TRASH/mklist.py" . $X "$hspec"
	listing=$(store_listing)
	expect_exit 1 xtrk cat-object -p $X >/dev/null 2>err || { echo "cat-object: $hname"; return 1; }
	expect_contains "$(cat err)" "$hwant" || { echo "case $hname"; return 1; }
	rm -rf "$TRASH/hco"
	xtrk checkout --no-source -C "$TRASH/hco" $rh >/dev/null 2>err && { echo "checkout accepted $hname"; return 1; }
	[ ! -e "$TRASH/hco/f.bin" ] || { echo "checkout of $hname left f.bin"; return 1; }
	xtrk fsck --read-data >out 2>&1 && { echo "fsck passed $hname"; return 1; }
	expect_contains "$(cat out)" "$X" || { echo "fsck of $hname"; return 1; }
	expect_eq "$(store_listing)" "$listing" || { echo "$hname changed the store"; return 1; }
}

check "a well-formed list of the right chunks reads as the file (the crafting is sound)" '
	python3 "$TRASH/mklist.py" . $X "{\"total\": $M, \"chunks\": [[\"$h1\", $H], [\"$h2\", $H]]}"
	xtrk cat-object -p $X | cmp - f.bin
	xtrk fsck --read-data >/dev/null
	xtrk checkout --no-source -C "$TRASH/okco" $rh >/dev/null && cmp "$TRASH/okco/f.bin" f.bin
'

check "hostile chunk lists are refused by cat-object, checkout and fsck, and change nothing" '
	n=0
	hostile self "{\"total\": $M, \"chunks\": [[\"$X\", $M]]}" "names itself"; n=$((n+1))
	python3 "$TRASH/mklist.py" . $Y "{\"total\": $M, \"chunks\": [[\"$h1\", $H], [\"$h2\", $H]]}"
	hostile nested "{\"total\": $M, \"chunks\": [[\"$Y\", $M]]}" "lists do not nest"; n=$((n+1))
	python3 "$TRASH/mklist.py" . $Y "{\"total\": $M, \"chunks\": [[\"$X\", $M]]}"
	hostile cycle "{\"total\": $M, \"chunks\": [[\"$Y\", $M]]}" "lists do not nest"; n=$((n+1))
	hostile sum "{\"total\": $((M + 1)), \"chunks\": [[\"$h1\", $H], [\"$h2\", $H]]}" "do not add up"; n=$((n+1))
	hostile size "{\"total\": $M, \"chunks\": [[\"$h1\", $((H + 1))], [\"$h2\", $((H - 1))]]}" "not the 524289 listed"; n=$((n+1))
	hostile count "{\"total\": $M, \"chunks\": [[\"$h1\", $H], [\"$h2\", $H]], \"count\": 1099511627776}" "more than a list may"; n=$((n+1))
	hostile length "{\"total\": $M, \"chunks\": [[\"$h1\", $H], [\"$h2\", $H]], \"count\": 3}" "does not match its count"; n=$((n+1))
	hostile empty "{\"total\": $M, \"chunks\": [[\"$h1\", 0], [\"$h2\", $M]]}" "empty"; n=$((n+1))
	hostile none "{\"total\": 0, \"chunks\": []}" "names no chunks"; n=$((n+1))
	hostile magic "{\"total\": $M, \"chunks\": [[\"$h1\", $H], [\"$h2\", $H]], \"magic\": \"XCHX\"}" "bad header"; n=$((n+1))
	hostile missing "{\"total\": $M, \"chunks\": [[\"$h1\", $H], [\"fedcba9876543210fedcba9876543210\", $H]]}" "missing"; n=$((n+1))
	hostile hash "{\"total\": $M, \"chunks\": [[\"$c1\", $H], [\"$c2\", $H]]}" "do not hash to its ID"; n=$((n+1))
	hostile order "{\"total\": $M, \"chunks\": [[\"$h2\", $H], [\"$h1\", $H]]}" "do not hash to its ID"; n=$((n+1))
	expect_eq $n 13
'

check "gc does not collect a store whose chunk list is damaged, and keeps the chunks a good list names" '
	python3 "$TRASH/mklist.py" . $X "{\"total\": $M, \"chunks\": [[\"$h1\", $H], [\"$h2\", $H]]}"
	xtrk gc --prune=now >/dev/null
	xtrk cat-object -p $X | cmp - f.bin
	python3 "$TRASH/mklist.py" . $X "{\"total\": $((M + 1)), \"chunks\": [[\"$h1\", $H], [\"$h2\", $H]]}"
	listing=$(store_listing)
	xtrk gc --prune=now >/dev/null 2>err && { echo "gc ran over a damaged list"; exit 1; }
	expect_contains "$(cat err)" "do not add up"
	expect_eq "$(store_listing)" "$listing"
'

finish
