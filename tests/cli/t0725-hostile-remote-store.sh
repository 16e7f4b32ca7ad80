#!/bin/sh
# Hostile stores: links planted in a shared remote folder, tags that shadow IDs, flipped type bytes,
# refs that lie, link loops under refs/, unknown store formats, object prefixes and kind confusion.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
echo a > a.txt && echo b > b.txt && mkdir d && echo x > d/x && echo y > d/y
r1=$(xtrk commit-run -e ex -d a.txt -d d --model b.txt -p lr=1 --tag one)
echo c > a.txt
r2=$(xtrk commit-run -e ex -d a.txt -p lr=2)

# A fresh remote, already holding one run pushed, so that every folder push writes to exists.
fresh_remote() {
	rm -rf "$TRASH/rem" "$TRASH/outside" && mkdir "$TRASH/outside"
	xtrk remote remove rem 2>/dev/null || true
	xtrk remote add rem "$TRASH/rem" 2>/dev/null
	xtrk push rem $r1 2>/dev/null
	mkdir -p "$TRASH/rem/refs/partial" "$TRASH/rem/index"
}

check "push refuses a remote with a link planted in any folder it writes, and writes nothing outside" '
	n=0
	for p in objects objects/pack objects/tmp refs refs/experiments refs/experiments/ex refs/tags refs/partial index cache; do
		fresh_remote
		fan=$(echo $r2 | cut -c1-2)
		rm -rf "$TRASH/rem/$p" && ln -s "$TRASH/outside" "$TRASH/rem/$p"
		expect_exit 1 xtrk push rem 2>err
		expect_contains "$(cat err)" "symbolic link"
		expect_contains "$(cat err)" "rem/$p"
		expect_eq "$(ls -A "$TRASH/outside")" ""
		n=$((n+1))
	done
	expect_eq $n 10
'
check "push refuses a link in place of a loose object folder, a tag, a ref file or the config" '
	fan=$(echo $r2 | cut -c1-2)
	for p in objects/$fan refs/tags/two refs/experiments/ex/$r2 config; do
		fresh_remote
		echo keep > "$TRASH/outside/victim"
		rm -rf "$TRASH/rem/$p" && ln -s "$TRASH/outside/victim" "$TRASH/rem/$p"
		expect_exit 1 xtrk push rem $r2 2>err
		expect_contains "$(cat err)" "symbolic link"
		expect_eq "$(cat "$TRASH/outside/victim")" keep
		expect_eq "$(ls -A "$TRASH/outside")" victim
	done
'
check "pull refuses such a remote too, and adds nothing" '
	fresh_remote
	ln -s "$TRASH/outside" "$TRASH/rem/refs/tags/evil"
	mkdir "$TRASH/puller" && cd "$TRASH/puller" && new_ws
	xtrk remote add rem "$TRASH/rem" 2>/dev/null
	before=$(store_listing)
	expect_exit 1 xtrk pull rem 2>err
	expect_contains "$(cat err)" "refs/tags/evil"
	expect_eq "$(store_listing)" "$before"
'
check "a clean remote still takes a push (the check refuses links only)" '
	fresh_remote
	xtrk push rem 2>err
	expect_contains "$(cat err)" "2 runs"
	xtrk -C "$TRASH/rem" fsck
'
check "an empty pull and an empty push succeed" '
	mkdir "$TRASH/e1" "$TRASH/e2" && (cd "$TRASH/e1" && new_ws) && (cd "$TRASH/e2" && new_ws)
	xtrk -C "$TRASH/e1" remote add x "$TRASH/emptyrem" 2>/dev/null
	xtrk -C "$TRASH/e1" push x 2>/dev/null
	xtrk -C "$TRASH/e2" remote add x "$TRASH/emptyrem" 2>/dev/null
	xtrk -C "$TRASH/e2" pull x 2>err
	expect_contains "$(cat err)" "0 runs"
'

short1=$(echo $r1 | cut -c1-12)
short2=$(echo $r2 | cut -c1-12)
check "tags that look like run IDs are refused where tags are made" '
	for t in $short2 $(echo $r2 | cut -c1-4) DEADBEEF $r2; do
		expect_exit 1 xtrk commit-run -e ex -p lr=9 --tag $t 2>err
		expect_contains "$(cat err)" "looks like a run ID"
	done
	expect_eq "$(ls .xtrk/refs/tags)" one
'
check "a tag planted with another run ID prefix as its name is an ambiguity, never silently the tag" '
	echo $r1 > .xtrk/refs/tags/$short2
	expect_exit 1 xtrk show $short2 2>err
	expect_contains "$(cat err)" "ambiguous"
	expect_contains "$(cat err)" "$r1"
	expect_contains "$(cat err)" "$r2"
	expect_exit 1 xtrk checkout $short2 -C "$TRASH/co1" 2>/dev/null
	test ! -e "$TRASH/co1"
	# a tag that names the very run its name is a prefix of is no ambiguity
	echo $r2 > .xtrk/refs/tags/$short2
	expect_eq "$(xtrk show --json $short2 | json_get id)" "$r2"
	rm .xtrk/refs/tags/$short2
	# so is an experiment named like another run ID prefix
	mkdir .xtrk/refs/experiments/$short1 && cp .xtrk/refs/experiments/ex/$r2 .xtrk/refs/experiments/$short1/
	expect_exit 1 xtrk show $short1 2>err
	expect_contains "$(cat err)" "ambiguous"
	rm -r .xtrk/refs/experiments/$short1
	expect_eq "$(xtrk show --json $short1 | json_get id)" "$r1"
'
check "pull leaves behind a remote tag that looks like an ID, with a warning" '
	fresh_remote
	xtrk push rem 2>/dev/null
	echo $r1 > "$TRASH/rem/refs/tags/$short2"
	mkdir "$TRASH/puller2" && cd "$TRASH/puller2" && new_ws && xtrk remote add rem "$TRASH/rem" 2>/dev/null
	xtrk pull rem 2>err
	expect_contains "$(cat err)" "left behind"
	test ! -e .xtrk/refs/tags/$short2
	expect_eq "$(xtrk show --json $short2 | json_get id)" "$r2"
'

# Write a loose object by hand: the 32-byte header (XTRK, version, type, compression, reserved,
# size le64, ID), then the raw content; $1 store, $2 type number, $3 content file.
put_object() {
	python3 - "$1" "$2" "$3" <<-PY
	import os, struct, subprocess, sys
	store, typ, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	data = open(path, "rb").read()
	hexid = subprocess.check_output(["xxhsum", "-H2", path]).split()[0].decode()
	d = os.path.join(store, "objects", hexid[:2]); os.makedirs(d, exist_ok=True)
	f = os.path.join(d, hexid[2:])
	if os.path.exists(f): os.chmod(f, 0o644)
	open(f, "wb").write(b"XTRK" + bytes([1, typ, 0, 0]) + struct.pack("<Q", len(data)) + bytes.fromhex(hexid) + data)
	print(hexid)
	PY
}
# Flip the type byte (offset 5 of the header) of object $1 to $2, loose or in a pack.
flip_type() {
	python3 - "$1" "$2" <<-PY
	import glob, os, sys
	hexid, typ = sys.argv[1], int(sys.argv[2])
	raw = bytes.fromhex(hexid)
	loose = ".xtrk/objects/%s/%s" % (hexid[:2], hexid[2:])
	for f in [loose] + glob.glob(".xtrk/objects/pack/*.pack"):
	    if not os.path.exists(f):
	        continue
	    data = bytearray(open(f, "rb").read())
	    pos = 0
	    while True:
	        j = data.find(raw, pos)
	        if j < 0:
	            break
	        if j >= 16 and data[j - 16:j - 12] == b"XTRK":
	            data[j - 16 + 5] = typ
	            os.chmod(f, 0o644)
	            open(f, "wb").write(data)
	            sys.exit(0)
	        pos = j + 1
	sys.exit("object %s not found" % hexid)
	PY
}

check "fsck reports a flipped type byte: a tree stored as a blob, a run as a blob, a blob as a tree or a run" '
	cd "$TRASH" && rm -rf flip && mkdir flip && cp -a .xtrk flip/ && cd flip
	tree=$(xtrk show --json $r1 | json_get datasets.1.id)
	blob=$(xtrk show --json $r1 | json_get models.0.id)
	xtrk fsck --read-data
	for case in "$tree 1" "$r1 1" "$blob 2" "$blob 3"; do
		set -- $case
		rm -rf .xtrk && cp -a ../.xtrk .xtrk
		flip_type $1 $2
		out=$(xtrk fsck --read-data 2>&1 || true)
		expect_contains "$out" "$1"
		expect_contains "$out" "problem"
	done
'
check "a tree or run stored as a blob is never read as one" '
	cd "$TRASH" && rm -rf flip2 && mkdir flip2 && cp -a .xtrk flip2/ && cd flip2
	tree=$(xtrk show --json $r1 | json_get datasets.1.id)
	flip_type $tree 1
	expect_exit 1 xtrk checkout $r1 -C "$TRASH/co2" --no-source 2>err
	expect_contains "$(cat err)" "stored as a blob"
	expect_eq "$(ls -A "$TRASH/co2/d" 2>/dev/null)" ""
	out=$(xtrk fsck 2>&1 || true)
	expect_contains "$out" "stored as a blob but used as a tree"
'
check "kind confusion crafted by hand: a record names a blob as a tree, a tree as a run" '
	cd "$TRASH" && rm -rf kc && mkdir kc && cp -a .xtrk kc/ && cd kc
	blob=$(xtrk show --json $r1 | json_get models.0.id)
	xtrk cat-object $r1 > r.json
	python3 - r.json $blob <<-PY
	import json, sys
	r = json.load(open(sys.argv[1]))
	for e in r["datasets"]:
	    if e["name"] == "d": e["id"] = sys.argv[2]
	open("r2.json", "w").write(json.dumps(r, sort_keys=True, separators=(",", ":")))
	PY
	id2=$(xtrk hash-object -w -t run r2.json)
	echo $id2 > .xtrk/refs/experiments/ex/$id2
	out=$(xtrk fsck --read-data 2>&1 || true)
	expect_contains "$out" "stored as a blob but used as a tree"
	expect_exit 1 xtrk checkout $id2 -C "$TRASH/co3" --no-source 2>err
	expect_contains "$(cat err)" "stored as a blob"
	expect_eq "$(ls -A "$TRASH/co3/d" 2>/dev/null)" ""
	rm .xtrk/refs/experiments/ex/$id2
	# a tree filed as a run
	tree=$(xtrk show --json $r1 | json_get datasets.1.id)
	echo $tree > .xtrk/refs/experiments/ex/$tree
	out=$(xtrk fsck 2>&1 || true)
	expect_contains "$out" "$tree"
	rm .xtrk/refs/experiments/ex/$tree
	# a run record written by hand as a blob, filed as a run
	python3 -c "import sys; d=open(\"r2.json\").read(); open(\"r3.json\",\"w\").write(d.replace(\"lr\",\"lR\",1))"
	id3=$(put_object .xtrk 1 r3.json)
	echo $id3 > .xtrk/refs/experiments/ex/$id3
	expect_exit 1 xtrk show $id3 2>err
	expect_contains "$(cat err)" "stored as a blob"
	out=$(xtrk fsck 2>&1 || true)
	expect_contains "$out" "$id3"
'
check "a file recorded with a tree's ID is caught by its size; a file holding a tree's bytes is a file" '
	cd "$TRASH" && rm -rf kf && mkdir kf && cp -a .xtrk kf/ && cd kf
	tree=$(xtrk show --json $r1 | json_get datasets.1.id)
	xtrk cat-object $r1 > r.json
	python3 - r.json $tree <<-PY
	import json, sys
	r = json.load(open(sys.argv[1]))
	r["models"][0]["id"] = sys.argv[2]
	open("r4.json", "w").write(json.dumps(r, sort_keys=True, separators=(",", ":")))
	PY
	id4=$(xtrk hash-object -w -t run r4.json)
	echo $id4 > .xtrk/refs/experiments/ex/$id4
	out=$(xtrk fsck --read-data 2>&1 || true)
	expect_contains "$out" "file $tree holds"
	expect_contains "$out" "but is recorded as"
	xtrk bundle create -o ../kf.tar $id4 2>/dev/null
	expect_exit 3 xtrk bundle verify ../kf.tar > v.out 2>&1
	expect_contains "$(cat v.out)" "but is recorded as"
	rm .xtrk/refs/experiments/ex/$id4
	# the same bytes, honestly: a copy of the tree text given as a model
	xtrk cat-object $tree > tree-copy.txt
	hid=$(xtrk commit-run -e honest --model tree-copy.txt 2>/dev/null)
	expect_eq "$(xtrk show --json $hid | json_get models.0.id)" "$tree"
	xtrk fsck --read-data >/dev/null
	xtrk bundle create -o ../honest.tar $hid 2>/dev/null
	xtrk bundle verify ../honest.tar >/dev/null
	xtrk checkout $hid -C "$TRASH/co4" --no-source >/dev/null 2>&1
	expect_eq "$(xxhsum -H2 "$TRASH/co4/tree-copy.txt" | cut -d" " -f1)" "$tree"
'
check "fsck reports a ref whose content names another run, and goes on" '
	cd "$TRASH" && rm -rf rf && mkdir rf && cp -a .xtrk rf/ && cd rf
	echo $r1 > .xtrk/refs/experiments/ex/$r2
	out=$(xtrk fsck 2>&1 || true)
	expect_contains "$out" "refs/experiments/ex/$r2 holds another run"
	expect_contains "$out" "$r1"
	echo garbage > .xtrk/refs/experiments/ex/$r2
	out=$(xtrk fsck 2>&1 || true)
	expect_contains "$out" "does not hold a run ID"
'
check "fsck reports link loops and links under refs/ and checks everything else" '
	cd "$TRASH" && rm -rf lp && mkdir lp && cp -a .xtrk lp/ && cd lp
	ln -s loop1 .xtrk/refs/experiments/loop1
	ln -s tloop .xtrk/refs/tags/tloop
	ln -s "$TRASH/outside" .xtrk/refs/experiments/elsewhere
	out=$(xtrk fsck 2>&1 || true)
	expect_contains "$out" "refs/experiments/loop1 is a symbolic link"
	expect_contains "$out" "refs/tags/tloop is a symbolic link"
	expect_contains "$out" "refs/experiments/elsewhere is a symbolic link"
	expect_contains "$out" "2 runs"
	expect_eq "$(xtrk log --format json 2>/dev/null | json_get 0.id)" "$r2"
'
check "a store of an unknown core.format is refused, whatever the command" '
	cd "$TRASH" && rm -rf fm && mkdir fm && cp -a .xtrk fm/ && cd fm
	for v in 2 0 abc ""; do
		git config -f .xtrk/config core.format "$v"
		for cmd in log fsck "show $r1"; do
			expect_exit 1 xtrk $cmd 2>err
			expect_contains "$(cat err)" "core.format"
		done
	done
	git config -f .xtrk/config core.format 1
	xtrk log >/dev/null
	# and a remote of an unknown format is not pushed to
	cd "$TRASH" && fresh_remote
	git config -f "$TRASH/rem/config" core.format 7
	expect_exit 1 xtrk push rem 2>err
	expect_contains "$(cat err)" "core.format"
'
check "cat-object takes an object ID prefix, and says unknown object for none" '
	blob=$(xtrk show --json $r1 | json_get models.0.id)
	p=$(echo $blob | cut -c1-10)
	expect_eq "$(xtrk cat-object $p)" "b"
	expect_eq "$(xtrk cat-object -t $p)" "blob"
	expect_exit 1 xtrk cat-object 0000000000ab 2>err
	expect_contains "$(cat err)" "unknown object"
	expect_not_contains "$(cat err)" "unknown run"
	expect_exit 1 xtrk cat-object nothex 2>err
	expect_contains "$(cat err)" "unknown object"
'
finish
