#!/bin/sh
# xtrk du: the store's size by kind and experiment, loose and packed, and what deduplication saved,
# each figure checked against an independent count over the store's files and the runs' records.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
printf '*\n!*.py\n' >> .git/info/exclude

# figures FILE: check du --json in FILE against python3's own reading of the store's files.
figures() {
	python3 - "$1" <<'PY'
import json, os, re, sys
d = json.load(open(sys.argv[1]))
total = loose_n = loose_b = packs = 0
for root, dirs, files in os.walk(".xtrk"):
    for f in files:
        p = os.path.join(root, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        n = os.path.getsize(p)
        total += n
        rel = os.path.relpath(p, ".xtrk/objects")
        if re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{30}", rel):
            loose_n += 1; loose_b += n
        if re.fullmatch(r"pack/pack-[0-9a-f]+\.(pack|idx)", rel):
            packs += n
def eq(what, got, want):
    if got != want:
        sys.exit("%s: du says %s, the files say %s" % (what, got, want))
eq("total_bytes", d["total_bytes"], total)
eq("loose objects", d["loose"]["objects"], loose_n)
eq("loose bytes", d["loose"]["bytes"], loose_b)
eq("pack files", d["pack_file_bytes"], packs)
eq("other", d["other_bytes"], total - loose_b - packs)
k = d["kinds"]
eq("kinds' objects", sum(v["objects"] for v in k.values()), d["loose"]["objects"] + d["packed"]["objects"])
eq("kinds' bytes", sum(v["bytes"] for v in k.values()), d["loose"]["bytes"] + d["packed"]["bytes"])
eq("live bytes", d["stored_live"], sum(v["bytes"] for n, v in k.items() if n != "unreachable"))
eq("experiments' bytes", sum(e["bytes"] for e in d["experiments"]), d["stored_live"] - k["notes"]["bytes"])
eq("referenced", d["referenced"], sum(d["referenced_kinds"].values()))
eq("experiments' references", sum(e["referenced"] for e in d["experiments"]), d["referenced"])
eq("saved", d["dedup_saved"], max(0, d["referenced"] - d["unique"]))
# a pack holds its header, each entry and its index's entries: what is not entries is overhead, small
if d["packed"]["bytes"] > packs:
    sys.exit("packed entries (%d) exceed the pack files (%d)" % (d["packed"]["bytes"], packs))
PY
}
# recorded KIND: sum over listed runs of the bytes their records give each entry of group KIND.
recorded() {
	for id in $(xtrk log --json | python3 -c 'import json,sys; print(" ".join(r["id"] for r in json.load(sys.stdin)))'); do
		xtrk show --json $id
	done | python3 -c '
import json, sys
dec = json.JSONDecoder(); text = sys.stdin.read(); i = 0; total = 0
while i < len(text):
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    r, i = dec.raw_decode(text, i)
    total += sum(e.get("bytes", 0) for e in r.get(sys.argv[1]) or [])
print(total)' "$1"
}

check 'du figures match the files of the store and the records of the runs' '
	mkdir data && head -c 600000 /dev/urandom > data/big && head -c 3000 /dev/urandom > data/small
	head -c 70000 /dev/urandom > model.bin; printf "{\"lr\": 0.1}\n" > params.json
	xtrk commit-run -e one -d data --model model.bin -P params.json >/dev/null
	xtrk commit-run -e one -d data >/dev/null
	head -c 5000 /dev/urandom > data/small
	xtrk commit-run -e two -d data --artifact model.bin >/dev/null
	head -c 623456 /dev/urandom > junk; xtrk hash-object -w junk >/dev/null
	xtrk du --json > du.json; cat du.json
	figures du.json
	# the junk object is the only unreachable one, loose, whole
	expect_eq "$(json_get kinds.unreachable.objects < du.json)" 1
	expect_eq "$(json_get kinds.unreachable.bytes < du.json)" "$(stat -c %s .xtrk/objects/*/$(xtrk hash-object junk | cut -c3-))"
	expect_eq "$(json_get runs < du.json)" 3
	expect_eq "$(json_get referenced_kinds.datasets < du.json)" "$(recorded datasets)"
	expect_eq "$(json_get referenced_kinds.datasets < du.json)" $((3 * 603000 + 2000))
	expect_eq "$(json_get referenced_kinds.models < du.json)" 70000
	expect_eq "$(json_get referenced_kinds.artifacts < du.json)" 70000
	expect_eq "$(json_get kinds.artifacts.objects < du.json)" 0
	expect_eq "$(json_get kinds.models.objects < du.json)" 1
	# the 600 kB file is stored once for three runs, the model once for two uses
	saved=$(json_get dedup_saved < du.json); [ "$saved" -ge $((2 * 600000 + 70000)) ]
	[ "$saved" -lt $((2 * 600000 + 70000 + 20000)) ]
	[ "$(json_get kinds.datasets.bytes < du.json)" -ge 605000 ]
	# the 600 kB file and the junk are loose objects (past the pack limit), the rest packed
	expect_eq "$(json_get loose.objects < du.json)" 2
	[ "$(json_get kinds.records.objects < du.json)" -eq 3 ]
	[ "$(json_get kinds.params.objects < du.json)" -eq 1 ]
	expect_eq "$(json_get experiments.0.name < du.json)" one
	expect_eq "$(json_get experiments.0.runs < du.json)" 2
	expect_eq "$(json_get experiments.1.referenced < du.json)" $((603000 + 2000 + 70000 + $(xtrk cat-object -s $(xtrk log -e two --json | json_get 0.id))))
'

check 'logs, series, notes, removed and archived runs are counted where they belong' '
	printf "{\"step\": 1, \"loss\": 0.5}\n{\"step\": 2, \"loss\": 0.25}\n" > tmpl.jsonl
	xtrk run -e three -M m.jsonl -- sh -c "echo to-stdout; echo to-stderr >&2; cp tmpl.jsonl m.jsonl" >/dev/null 2>&1
	id=$(xtrk log -e three --json | json_get 0.id)
	xtrk note $id -m "a note appended" >/dev/null
	gone=$(xtrk log -e two --json | json_get 0.id); xtrk rm $gone 2>/dev/null
	xtrk du --json > du.json; figures du.json
	[ "$(json_get kinds.logs.objects < du.json)" -ge 1 ]
	[ "$(json_get kinds.series.objects < du.json)" -ge 1 ]
	expect_eq "$(json_get kinds.notes.objects < du.json)" 1
	python3 -c "import json,sys; d=json.load(open(\"du.json\")); sys.exit(0 if any(e[\"name\"]==\"(removed)\" and e[\"runs\"]==1 for e in d[\"experiments\"]) else 1)"
	# an archived run keeps nothing: its own objects turn unreachable, then gc takes them
	before=$(json_get kinds.unreachable.bytes < du.json)
	xtrk archive -o three.tar -e three 2>/dev/null
	xtrk du --json > du2.json; figures du2.json
	[ "$(json_get kinds.unreachable.bytes < du2.json)" -gt "$before" ]
	expect_eq "$(json_get kinds.notes.objects < du2.json)" 0
	python3 -c "import json,sys; d=json.load(open(\"du2.json\")); sys.exit(1 if any(e[\"name\"]==\"three\" for e in d[\"experiments\"]) else 0)"
	find .xtrk/objects -type f -exec touch -d "3 weeks ago" {} +
	xtrk gc --prune=now >/dev/null
	xtrk du --json > du3.json; figures du3.json
	[ "$(json_get kinds.unreachable.bytes < du3.json)" -lt "$(json_get kinds.unreachable.bytes < du2.json)" ]
'

check 'an object held twice (in two packs) counts its bytes twice and its content once' '
	xtrk du --json > before.json
	mkdir other && (cd other && git init -q . && xtrk init -q . && git config -f .xtrk/config capture.python false &&
		cp ../model.bin . && xtrk commit-run -e x --model model.bin >/dev/null)
	cp other/.xtrk/objects/pack/pack-* .xtrk/objects/pack/
	xtrk du --json > after.json; figures after.json
	expect_eq "$(json_get unique < after.json)" "$(json_get unique < before.json)"
	expect_eq "$(json_get kinds.models.objects < after.json)" $(( $(json_get kinds.models.objects < before.json) + 1 ))
	[ "$(json_get packed.objects < after.json)" -gt "$(json_get packed.objects < before.json)" ]
'

check 'du prints for people; count-objects is the same; bad arguments are refused' '
	out=$(xtrk du); echo "$out"
	expect_contains "$out" "by kind:"; expect_contains "$out" "datasets"; expect_contains "$out" "deduplication"
	expect_contains "$out" "one "
	expect_eq "$(xtrk count-objects --json | json_get total_bytes)" "$(xtrk du --json | json_get total_bytes)"
	expect_exit 2 xtrk du --bogus
	expect_exit 2 xtrk du extra
'

check 'bash completion knows archive, du and count-objects, and their options' '
	bash -ec "
		. \"$XTRK_TEST_SRCDIR/contrib/completion/xtrk.bash\"
		c() { COMP_WORDS=(\"\$@\"); COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _xtrk \"$XTRK_BIN\" || return 1; echo \"\${COMPREPLY[*]}\"; }
		test \"\$(c xtrk archi)\" = archive
		test \"\$(c xtrk count-o)\" = count-objects
		test \"\$(c xtrk du --js)\" = --json
		test \"\$(c xtrk archive --no-s)\" = --no-source
		c xtrk archive on | grep -x one
		test -z \"\$(c xtrk du x)\"
	"
'

finish
