#!/bin/sh
# xtrk lineage: raw data -> prep run -> clean data -> train run -> model -> eval run, walked from any point.
. "$(dirname "$0")/lib.sh"

new_ws
mkdir raw && echo "1,2" > raw/a.csv && echo "3,4" > raw/b.csv
echo clean > clean.csv
prep=$(xtrk commit-run -e prep -d raw=raw --artifact clean=clean.csv 2>/dev/null)
head -c 2000 /dev/urandom > model.bin
train=$(xtrk commit-run -e train -d train=clean.csv --model model.bin 2>/dev/null)
echo "acc 0.9" > report.txt
eval=$(xtrk commit-run -e eval -d model=model.bin --artifact report=report.txt 2>/dev/null)
echo other > other.csv
lone=$(xtrk commit-run -e lone -d other=other.csv 2>/dev/null)
model=$(xxhsum -H2 model.bin | cut -d" " -f1)
clean=$(xxhsum -H2 clean.csv | cut -d" " -f1)

edges() { python3 -c '
import json, sys
g = json.load(sys.stdin)
for e in sorted(g["edges"], key=lambda e: (e["from"], e["to"])):
    print(e["from"][:6], e["role"], e["to"][:6])'; }

check "from a run: upstream to the raw data, downstream to the last artifact" '
	xtrk lineage $train --format json > g.json
	expect_eq "$(json_get target.id < g.json)" "$train"
	expect_eq "$(python3 -c "import json; print(len(json.load(open(\"g.json\"))[\"edges\"]))")" 6
	edges < g.json > e.txt
	grep -q "^$(echo $prep | cut -c1-6) output $(echo $clean | cut -c1-6)" e.txt
	grep -q "^$(echo $clean | cut -c1-6) input $(echo $train | cut -c1-6)" e.txt
	grep -q "^$(echo $model | cut -c1-6) input $(echo $eval | cut -c1-6)" e.txt
	! grep -q "$(echo $lone | cut -c1-6)" e.txt
'
check "--up and --down walk one way only" '
	up=$(xtrk lineage $train --up --format json | edges)
	expect_contains "$up" "$(echo $prep | cut -c1-6)"
	expect_not_contains "$up" "$(echo $eval | cut -c1-6)"
	down=$(xtrk lineage $train --down --format json | edges)
	expect_contains "$down" "$(echo $eval | cut -c1-6)"
	expect_not_contains "$down" "$(echo $prep | cut -c1-6)"
'
check "from a model ID, a prefix of one, or a path in the workspace" '
	a=$(xtrk lineage $model --up --format json | edges)
	b=$(xtrk lineage $(echo $model | cut -c1-8) --up --format json | edges)
	c=$(xtrk lineage model.bin --up --format json | edges)
	expect_eq "$a" "$b"
	expect_eq "$a" "$c"
	expect_contains "$a" "$(echo $prep | cut -c1-6)"
'
check "text shows the chain from the raw data, the target marked" '
	out=$(xtrk lineage model.bin)
	expect_eq "$(echo "$out" | sed -n 1p | cut -d" " -f1)" raw
	expect_contains "$out" "run $(echo $prep | cut -c1-12) (prep)"
	expect_contains "$out" "model.bin $(echo $model | cut -c1-12)   <== target"
	expect_contains "$out" "report.txt"
'
check "text draws sibling children with ├─, the last with └─, and rails under an open sibling" '
	echo w > w.txt && echo v > v.txt
	b1=$(xtrk commit-run -q -e fork -d model=model.bin --artifact w=w.txt --artifact v=v.txt)
	out=$(xtrk lineage model.bin --down)
	expect_eq "$(echo "$out" | sed -n 1p)" "model.bin $(echo $model | cut -c1-12)   <== target"
	expect_eq "$(echo "$out" | grep -c "^├─ run ")" 1
	expect_eq "$(echo "$out" | grep -c "^└─ run ")" 1
	# the first run child is open while its own children are drawn: their lines carry the rail
	first=$(echo "$out" | grep -n "^├─ run " | cut -d: -f1)
	last=$(echo "$out" | grep -n "^└─ run " | cut -d: -f1)
	test "$first" -lt "$last"
	inner=$(echo "$out" | sed -n "$((first + 1)),$((last - 1))p")
	test -n "$inner"
	expect_eq "$(echo "$inner" | grep -vc "^│   [├└]─ ")" 0
	case "$(echo "$inner" | tail -1)" in "│   └─ "*) ;; *) echo "the last inner line has no └─"; exit 1;; esac
	expect_eq "$(echo "$out" | sed -n "$((last + 1)),\$p" | grep -vc "^    [├└]─ ")" 0
'
check "dot is a Graphviz digraph (rendered when dot is installed)" '
	xtrk lineage $eval --format dot > g.dot
	expect_eq "$(head -1 g.dot)" "digraph lineage {"
	expect_eq "$(grep -c -- "->" g.dot)" 6
	if command -v dot >/dev/null; then dot -Tsvg g.dot > g.svg && grep -q "<svg" g.svg; fi
'
check "unknown targets are clear errors" '
	expect_exit 1 xtrk lineage nosuchthing 2>err
	expect_contains "$(cat err)" "not a run, a data or model ID"
	expect_exit 2 xtrk lineage
	expect_exit 2 xtrk lineage --format png $train
'
check "names with a dot (model.bin, clean.csv) are shown as recorded, whatever the index calls their fields" '
	xtrk lineage $train --format json > g.json
	python3 - <<PY
import json
g = json.load(open("g.json"))
names = sorted((e["group"], e["name"]) for e in g["edges"] if e["group"] != "artifacts" or e["name"] == "clean")
assert ("models", "model.bin") in names, names
assert ("datasets", "model") in names and ("datasets", "train") in names, names
nodes = g["nodes"].values() if isinstance(g["nodes"], dict) else g["nodes"]
assert any(n.get("name") == "model.bin" for n in nodes), nodes
PY
'
finish
