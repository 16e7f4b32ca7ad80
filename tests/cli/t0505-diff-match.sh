#!/bin/sh
# xtrk diff pairs datasets, models and artifacts by name, then path, then content, and reports
# renames; it leaves out what did not change, summarises the environment, and names both sides
# the same way.
. "$(dirname "$0")/lib.sh"

# Outputs and stand-in programs live outside the repository, so the runs' untracked files stay the same.
O=$TRASH
mkdir repo && cd repo
new_git_repo
new_ws

# py DIR VERSION PACKAGES: a stand-in python3 that reports VERSION and the PACKAGES (JSON object).
py() {
	mkdir -p "$1"
	printf '#!/bin/sh\necho '"'"'{"version": "%s", "implementation": "CPython", "packages": %s, "paths": []}'"'"'\n' \
		"$2" "$3" > "$1/python3"
	chmod +x "$1/python3"
}
run() { xtrk commit-run -q "$@"; }
jq_py() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); $2" "$1"; }

mkdir -p data/train && i=0 && while [ $i -lt 5 ]; do echo "row $i" > data/train/f$i.csv; i=$((i+1)); done
echo weights > model.bin

check "the same content under a new name and path is a rename, not removed + added" '
	a=$(run -e ren -d train=data/train --model best=model.bin)
	mv data/train data/train-v2 && mv model.bin final.bin
	b=$(run -e ren -d train2=data/train-v2 --model final=final.bin)
	mv data/train-v2 data/train && mv final.bin model.bin
	out=$(xtrk diff $a $b)
	expect_contains "$out" "renamed: train -> train2 (data/train -> data/train-v2): same content"
	expect_contains "$out" "renamed: best -> final (model.bin -> final.bin): same content"
	expect_not_contains "$out" "removed"
	expect_not_contains "$out" "added"
	expect_not_contains "$out" "f1.csv"
	xtrk diff --json $a $b > "$O/r.json"
	jq_py "$O/r.json" "
[e] = d[\"datasets\"]
assert e[\"name\"] == \"train2\" and e[\"renamed_from\"] == \"train\", e
assert e[\"path\"] == \"data/train-v2\" and e[\"path_from\"] == \"data/train\", e
assert e[\"matched_by\"] == \"id\" and e[\"change\"] == \"renamed\", e
assert e[\"added\"] == e[\"removed\"] == e[\"modified\"] == [], e
assert e[\"id_a\"] == e[\"id_b\"] and e[\"bytes_a\"] == e[\"bytes_b\"], e
[m] = d[\"models\"]
assert m[\"name\"] == \"final\" and m[\"renamed_from\"] == \"best\" and m[\"matched_by\"] == \"id\", m"
	expect_exit 3 xtrk diff --exit-code $a $b
	expect_exit 3 xtrk diff --exit-code --data $a $b
'
check "a new name at the same path is paired by path, with the files that changed" '
	a=$(run -e inplace -d old=data/train)
	echo edited >> data/train/f2.csv
	b=$(run -e inplace -d new=data/train)
	out=$(xtrk diff $a $b)
	expect_contains "$out" "renamed: old -> new (data/train): 1 modified;"
	expect_contains "$out" "M data/train/f2.csv"
	xtrk diff --json $a $b > "$O/p.json"
	jq_py "$O/p.json" "
[e] = d[\"datasets\"]
assert e[\"matched_by\"] == \"path\" and e[\"renamed_from\"] == \"old\" and e[\"path_from\"] is None, e
assert e[\"modified\"] == [\"data/train/f2.csv\"] and not e[\"added\"] and not e[\"removed\"], e"
	expect_contains "$(xtrk diff --stat $a $b)" "renamed: old -> new (data/train): 1 modified;"
	expect_not_contains "$(xtrk diff --stat $a $b)" "f2.csv"
'
check "the same name at a new path is paired by name (a move), and its files are diffed" '
	mkdir -p other && cp data/train/* other/ && echo extra > other/extra.csv
	a=$(run -e move -d set=data/train)
	b=$(run -e move -d set=other)
	out=$(xtrk diff $a $b)
	expect_contains "$out" "moved: set (data/train -> other): 1 added;"
	expect_contains "$out" "A other/extra.csv"
	xtrk diff --json $a $b > "$O/m.json"
	jq_py "$O/m.json" "
[e] = d[\"datasets\"]
assert e[\"matched_by\"] == \"name\" and e[\"renamed_from\"] is None and e[\"path_from\"] == \"data/train\", e
assert e[\"change\"] == \"renamed\" and e[\"added\"] == [\"other/extra.csv\"], e"
'
check "name beats path beats content; of two entries with the same content the first is paired" '
	mkdir -p c1 c2 c3 p && echo same > c1/f && echo same > c2/f && echo same > c3/f && echo one > p/f
	# A: x at p (content one), y and z (content same).  B: q at p (content same), w (content same).
	a=$(run -e amb -d x=p -d y=c1 -d z=c2)
	echo two > p/f && cp c1/f p/f
	b=$(run -e amb -d q=p -d w=c3)
	for i in 1 2; do xtrk diff --json $a $b > "$O/amb$i.json"; done
	cmp "$O/amb1.json" "$O/amb2.json"
	jq_py "$O/amb1.json" "
e = d[\"datasets\"]
assert [(x[\"renamed_from\"], x[\"name\"], x[\"matched_by\"], x[\"change\"]) for x in e] == [
    (\"x\", \"q\", \"path\", \"renamed\"), (\"y\", \"w\", \"id\", \"renamed\"), (None, \"z\", None, \"removed\")], e
assert e[0][\"modified\"] == [\"p/f\"], e[0]"
	out=$(xtrk diff $a $b)
	expect_contains "$out" "renamed: x -> q (p): 1 modified"
	expect_contains "$out" "renamed: y -> w (c1 -> c3): same content"
	expect_contains "$out" "removed: z (c2): 1 file;"
	# The other way round, the entry left over is added.
	expect_contains "$(xtrk diff $b $a)" "added: z (c2): 1 file;"
'
check "unchanged entries and sections are left out; identical runs say so in one line" '
	a=$(run -e same -d data/train --model model.bin --artifact art=config.py -p lr=0.1)
	b=$(run -e same -d data/train --model model.bin --artifact art=config.py -p lr=0.2)
	out=$(xtrk diff $a $b)
	expect_contains "$out" "lr: 0.1 -> 0.2"
	for word in datasets models artifacts environment "0 modified" "same content" source; do
		expect_not_contains "$out" "$word"
	done
	xtrk diff --json $a $b > "$O/s.json"
	jq_py "$O/s.json" "assert d[\"datasets\"] == d[\"models\"] == d[\"artifacts\"] == [], d"
	c=$(run -e same -d data/train --model model.bin --artifact art=config.py -p lr=0.1)
	out=$(xtrk diff $a $c)
	expect_eq "$out" "diff ${a:0:12} (same) -> ${c:0:12} (same): no differences"
	expect_exit 0 xtrk diff --exit-code $a $c
	expect_exit 3 xtrk diff --exit-code $a $b
'
check "the header names both runs with IDs of one length, experiment and tags; JSON has full IDs" '
	a=$(run -e head --tag base -p k=1)
	b=$(run -e head2 --tag cand --tag v2 -p k=2)
	first=$(xtrk diff $a $b | head -n 1)
	expect_eq "$first" "diff ${a:0:12} (head, tag base) -> ${b:0:12} (head2, tags cand v2)"
	xtrk diff --json $a $b > "$O/h.json"
	jq_py "$O/h.json" "assert d[\"a\"] == \"$a\" and d[\"b\"] == \"$b\" and len(d[\"a\"]) == len(d[\"b\"]) == 32, d"
'
check "the workspace side is named as such" '
	a=$(run -e wsname -d data/train)
	expect_eq "$(xtrk diff --data $a)" "diff ${a:0:12} (wsname) -> workspace (the files as they are now): no differences"
	echo more >> data/train/f0.csv
	out=$(xtrk diff --data $a)
	expect_contains "$out" "-> workspace (the files as they are now)"
	expect_contains "$out" "train (data/train): 1 modified;"
	git checkout -q -- . 2>/dev/null || :
	sed -i "/^more$/d" data/train/f0.csv
'
check "the environment is one line by default, every key with --env, all of it in JSON" '
	py "$O/pyA" 3.11.7 "{\"numpy\": \"1.26.0\", \"torch\": \"2.1.0\", \"six\": \"1.16\"}"
	py "$O/pyB" 3.12.1 "{\"numpy\": \"2.0.0\", \"torch\": \"2.1.0\", \"scipy\": \"1.13\"}"
	git config -f .xtrk/config capture.python true
	a=$(run -e env --python "$O/pyA/python3")
	b=$(run -e env --python "$O/pyB/python3")
	out=$(xtrk diff $a $b)
	expect_contains "$out" "environment: 3 packages changed (1 added, 1 removed), python 3.11.7 -> 3.12.1 (details: --env)"
	expect_not_contains "$out" "numpy"
	expect_not_contains "$out" "torch"
	expect_eq "$(echo "$out" | grep -c environment)" 1
	full=$(xtrk diff --env $a $b)
	expect_contains "$full" "~ python.packages.numpy: 1.26.0 -> 2.0.0"
	expect_contains "$full" "+ python.packages.scipy: 1.13"
	expect_contains "$full" "- python.packages.six: 1.16"
	expect_contains "$full" "~ python.version: 3.11.7 -> 3.12.1"
	expect_not_contains "$full" "torch"
	xtrk diff --json $a $b > "$O/e.json"
	jq_py "$O/e.json" "
env = d[\"env\"]
assert env[\"changed\"][\"python.packages.numpy\"] == [\"1.26.0\", \"2.0.0\"], env
assert env[\"added\"] == {\"python.packages.scipy\": \"1.13\"} and env[\"removed\"] == {\"python.packages.six\": \"1.16\"}, env"
	expect_exit 3 xtrk diff --exit-code --env $a $b
	expect_exit 0 xtrk diff --exit-code --params $a $b
	py "$O/pyC" 3.12.1 "{\"numpy\": \"1.26.0\", \"torch\": \"2.1.0\", \"six\": \"1.16\"}"
	c=$(run -e env --python "$O/pyC/python3")
	expect_contains "$(xtrk diff $a $c)" "environment: python 3.11.7 -> 3.12.1"
	expect_not_contains "$(xtrk diff $a $c)" "details"
	# Past four other keys, the rest are counted.
	v=$(OMP_A=1 OMP_B=2 OMP_C=3 OMP_D=4 OMP_E=5 run -e env --python "$O/pyA/python3")
	out=$(xtrk diff $a $v)
	expect_contains "$out" "environment: vars.OMP_"
	expect_contains "$out" ", 1 more (details: --env)"
	expect_eq "$(echo "$out" | grep -o "vars.OMP_. (none) -> " | wc -l)" 4
	expect_eq "$(xtrk diff --env $a $v | grep -c "+ vars.OMP_")" 5
'
check "crafted records with repeated names, paths and contents pair deterministically" '
	a=$(run -e crafted -d data=data/train)
	xtrk bundle create -o "$O/good.tar" $a 2>/dev/null
	xtrk show --json $a > "$O/a.json"
	python3 - "$O" <<-PY
	import json, sys
	o = sys.argv[1]
	d = json.load(open(o + "/a.json"))["datasets"][0]
	def ent(path, **kw):
	    e = {"name": "data", "path": path, "kind": "tree", "id": d["id"]}
	    e.update(kw)
	    return e
	# The same name three times: at another path, at the same path, and with no byte count.
	cases = {"dup": [ent("x", bytes=1), ent("data/train", bytes=2), ent("data/train")],
	         # many entries with one name, path and content, and one fewer
	         "many": [ent("data/train")] * 400, "fewer": [ent("data/train")] * 399}
	for k, v in cases.items():
	    open(o + "/" + k + ".arg", "w").write(json.dumps({"datasets": v}))
	PY
	for t in dup many fewer; do
		python3 "$XTRK_TEST_SRCDIR/tests/helpers/mkbundle.py" "$O/good.tar" run-set "$O/$t.tar" "$(cat "$O/$t.arg")"
		xtrk bundle import "$O/$t.tar" >/dev/null 2>&1
		python3 -c "import json, tarfile, sys; print(json.load(tarfile.open(sys.argv[1]).extractfile(\"xtrk-bundle.json\"))[\"runs\"][0][\"id\"])" "$O/$t.tar" > "$O/$t.id"
	done
	dup=$(cat "$O/dup.id") many=$(cat "$O/many.id") fewer=$(cat "$O/fewer.id")
	xtrk diff --json --data $dup $a > "$O/dup1.json"
	xtrk diff --json --data $dup $a > "$O/dup2.json"
	cmp "$O/dup1.json" "$O/dup2.json"
	jq_py "$O/dup1.json" "
e = d[\"datasets\"]
assert [(x[\"change\"], x[\"matched_by\"], x[\"path_from\"], x[\"path\"], x[\"bytes_a\"]) for x in e] == [
    (\"renamed\", \"name\", \"x\", \"data/train\", 1), (\"removed\", None, None, \"data/train\", 2),
    (\"removed\", None, None, \"data/train\", None)], e"
	expect_contains "$(xtrk diff --data $dup $a)" "moved: data (x -> data/train): same content"
	expect_contains "$(xtrk diff --data $a $dup)" "added: data (data/train): 5 files; -"
	expect_eq "$(xtrk diff --data $dup $dup)" "diff ${dup:0:12} (crafted) -> ${dup:0:12} (crafted): no differences"
	expect_eq "$(xtrk diff --data $many $many | wc -l)" 1
	expect_contains "$(xtrk diff --data $dup)" "moved: data (x -> data/train)"
	xtrk diff --json --data $many $fewer > "$O/many.json"
	jq_py "$O/many.json" "assert [x[\"change\"] for x in d[\"datasets\"]] == [\"removed\"], d[\"datasets\"]"
	expect_eq "$(xtrk diff --data --stat $fewer $many)" "diff ${fewer:0:12} (crafted) -> ${many:0:12} (crafted)
datasets:
  added: data (data/train): 5 files; -"
'
finish
