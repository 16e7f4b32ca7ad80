#!/bin/sh
# xtrk report's further views: parallel coordinates (a uPlot chart, drawn and filtered with the
# others), two runs side by side (params, metrics, data, environment, source patch; chosen by
# #a=RUN&b=RUN) and the lineage graph (parents and runs joined through data), checked in headless
# Chromium (those checks skip when it is absent); hostile names, values, paths, package names and
# patch text stay text; a patch is stored once however many runs share it, cut when long, and a
# damaged one is named, not shown.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws

. "$XTRK_TEST_SRCDIR/tests/cli/browser.sh"
cat > data.py <<'EOF'
import json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="xtrk-data">(.*?)</script>', page, re.S)
data = json.loads(m.group(1))
run = {r["id"]: r for r in data["runs"]}
EOF

hostile='</script><img src=x onerror=alert(1)>'
# A Python that reports a version and packages of its own, one with a hostile name and version.
cat > fakepy <<'EOF'
#!/bin/sh
cat <<'JSON'
{"version": "3.99.1", "implementation": "CPython", "executable": "/opt/py/bin/python", "prefix": "/opt/py",
 "packages": {"numpy": "2.0.0", "</script><img src=x onerror=alert(1)>": "javascript:alert(1)"}, "paths": []}
JSON
EOF
chmod +x fakepy

# r1 makes a model (and carries a hostile param name and value, a hostile file name) from a clean
# source; r2 uses that model as its dataset, from a source with uncommitted hostile text and bytes
# that are not UTF-8, and another environment; r3 names r2 as its parent and shares its patch.
echo weights-v1 > model.bin
echo x > '<img src=x onerror=alert(2)>'
printf '{"%s": "javascript:alert(1)"}' "$hostile" > hostile.json
r1=$(xtrk commit-run -q -e prep -p lr=0.1 -P hostile.json --metric loss=0.5 --metric acc=0.7 \
	--model m=model.bin --artifact "odd=<img src=x onerror=alert(2)>" -m "prepare" --tag base)
printf '# %s\n\377\376 not utf-8\n' "$hostile" >> train.py
git config -f .xtrk/config capture.python true
r2=$(xtrk commit-run -q -e train -p lr=0.01 --metric loss=0.3 --metric acc=0.8 -d in=model.bin --python ./fakepy -m "train")
git config -f .xtrk/config capture.python false
r3=$(xtrk commit-run -q -e train -p lr=0.001 --metric loss=0.2 --metric acc=0.9 --parent $r2 -d in=model.bin -m "tune")
xtrk report -o r.html $r1 $r2 $r3
printf '%s\n' $r1 $r2 $r3 > ids

check "the file: parents from the record and through data, details of each run, one patch and package list each" '
	python3 - r.html <<PY
exec(open("data.py").read())
r1, r2, r3 = run["$r1"], run["$r2"], run["$r3"]
assert r1["parents"] == [] and r1["parent_via"] == [], r1["parents"]
assert r2["parents"] == ["$r1"] and r2["parent_via"] == ["dataset in"], (r2["parents"], r2["parent_via"])
assert r3["parents"] == ["$r2", "$r1"] and r3["parent_via"] == ["parent", "dataset in"], r3["parents"]
d1, d2, d3 = r1["detail"], r2["detail"], r3["detail"]
assert d1["params"] == {"lr": 0.1, "$hostile": "javascript:alert(1)"}, d1["params"]
assert d2["metrics"] == {"loss": 0.3, "acc": 0.8}, d2["metrics"]
models = [e for e in d1["data"] if e["group"] == "models"]
arts = [e for e in d1["data"] if e["group"] == "artifacts"]
assert models[0]["name"] == "m" and models[0]["path"] == "model.bin" and models[0]["bytes"] == 11, models
assert arts[0]["path"] == "<img src=x onerror=alert(2)>", arts
assert d2["data"][0]["group"] == "datasets" and d2["data"][0]["id"] == models[0]["id"], d2["data"]
# the environment: the summary, the package list stored once and named
assert d2["env"]["python"] == "3.99.1 CPython" and d2["env"]["packages"] == 2, d2["env"]
assert d1["env"]["python"] is None and "packages_set" not in d1["env"], d1["env"]
assert data["packages"][d2["env"]["packages_set"]]["numpy"] == "2.0.0", data["packages"]
assert len(data["packages"]) == 1
# the source: r1 clean, r2 and r3 the same patch, stored once, its bad bytes replaced
assert d1["source"]["patch"] is None and d1["source"]["dirty"] is False, d1["source"]
assert d2["source"]["patch"] and d2["source"]["patch"] == d3["source"]["patch"], (d2["source"], d3["source"])
assert list(data["patches"]) == [d2["source"]["patch"]], data["patches"]
p = data["patches"][d2["source"]["patch"]]
assert "$hostile" in p["text"] and "\ufffd\ufffd not utf-8" in p["text"], p
assert p["replaced"] == 2 and p["cut"] is False and p["error"] is None and p["bytes"] > len("$hostile"), p
PY
	expect_eq "$(grep -c "<img" r.html)" 0
	expect_eq "$(grep -o "</script" r.html | wc -l)" 5
'

check "in Chromium: parallel coordinates drawn with uPlot over every numeric param and metric, real ranges" '
	need_browser
	browse "file://$PWD/r.html" > dom.html
	page_state dom.html > state.json
	python3 - <<PY
import json
s = json.load(open("state.json"))
assert s["errors"] == [], s
p = s["parallel"]
assert p["axes"] == ["params.lr", "metrics.acc", "metrics.loss"], p
assert p["lines"] == 3 and p["ranges"] == [[0.001, 0.1], [0.7, 0.9], [0.2, 0.5]], p
# no metric was logged step by step: the parallel chart is the one chart, drawn like the others
assert s["charts"] == 1 and s["drawn"] == 1 and s["pixels"][0] > 100, s
PY
	# hover: the cursor on the first axis (put there by a script added to a copy of the page)
	# shows each run its value as logged in the legend, not the line height
	cat > hover.js <<"JS"
var P = window.xtrkPage, u = P.charts[P.charts.length - 1].u;
u.setCursor({ left: u.valToPos(0, "x"), top: 10 });
P.state.hover = Array.prototype.map.call(u.root.querySelectorAll(".u-legend .u-value"), function (e) { return e.textContent; });
P.publish();
JS
	python3 - r.html > hover.html <<PY
import sys
page = open(sys.argv[1], encoding="utf-8").read()
i = page.rindex("</body>")
sys.stdout.write(page[:i] + "<script>" + open("hover.js").read() + "</" + "script>" + page[i:])
PY
	browse "file://$PWD/hover.html" > domh.html
	python3 - "$(page_state domh.html)" <<PY
import json, sys
s = json.loads(sys.argv[1])
byid = {r: v for r, v in zip(["$r1", "$r2", "$r3"], ["0.1", "0.01", "0.001"])}
# the field first, then one value per run, in the order of the data
exec(open("data.py").read().replace("sys.argv[1]", "\"r.html\""))
want = ["params.lr"] + [byid[r["id"]] for r in data["runs"]]
assert s["hover"] == want, (s.get("hover"), want)
PY
'

check "in Chromium: the table filter hides a run line in the parallel chart too, from the address or typed" '
	need_browser
	browse "file://$PWD/r.html#filter=prepare" > domf.html
	page_state domf.html > statef.json
	# typed: a copy of the page whose last script types into the filter box, then (once the chart
	# has drawn again) counts the coloured pixels of its plot as the page does, into state.typed
	cat > typing.js <<"JS"
var f = document.querySelector("input.filter"), P = window.xtrkPage;
f.value = "prepare";
f.dispatchEvent(new Event("input"));
setTimeout(function () {
	var u = P.charts[P.charts.length - 1].u, b = u.bbox, px = 0;
	var img = u.ctx.getImageData(b.left, b.top, b.width, b.height).data;
	for (var i = 0; i < img.length; i += 4)
		if (img[i + 3] > 0 && Math.max(img[i], img[i + 1], img[i + 2]) - Math.min(img[i], img[i + 1], img[i + 2]) > 40)
			px++;
	P.state.typed = px;
	P.publish();
}, 500);
JS
	python3 - r.html > typed.html <<PY
import sys
page = open(sys.argv[1], encoding="utf-8").read()
i = page.rindex("</body>")
sys.stdout.write(page[:i] + "<script>" + open("typing.js").read() + "</" + "script>" + page[i:])
PY
	browse "file://$PWD/typed.html" > domt.html
	page_state domt.html > statet.json
	python3 - <<PY
import json
s, f, t = json.load(open("state.json")), json.load(open("statef.json")), json.load(open("statet.json"))
assert f["errors"] == [] and f["rows"] == 1 and f["drawn"] == 1, f
assert 0 < f["pixels"][0] < s["pixels"][0] * 0.6, (f["pixels"], s["pixels"])
assert t["errors"] == [] and t["rows"] == 1, t
assert 0 < t["typed"] < s["pixels"][0] * 0.6, (t.get("typed"), s["pixels"])
PY
'

check "in Chromium: two runs side by side, the first two rows by default; changed rows marked" '
	need_browser
	python3 - <<PY
import json
s = json.load(open("state.json"))
c = s["compare"]
assert [c["a"][:12], c["b"][:12]] == s["order"][:2], (c, s["order"])
PY
	browse "file://$PWD/r.html#a=base&b=$(echo $r2 | cut -c1-8)" > dom12.html
	page_state dom12.html > s12.json
	browse "file://$PWD/r.html#a=$r2&b=$r3" > dom23.html
	page_state dom23.html > s23.json
	python3 - <<PY
import json
c = json.load(open("s12.json"))["compare"]
assert c["a"] == "$r1" and c["b"] == "$r2", c
ch = c["changed"]
assert ch["params"] == sorted(["$hostile", "lr"]), ch
assert ch["metrics"] == ["acc", "loss"], ch
assert ch["data"] == ["models/m", "artifacts/odd", "datasets/in"], ch
assert ch["env"][:2] == ["python", "packages"], ch
assert "package numpy" in ch["env"] and "package $hostile" in ch["env"], ch
assert ch["source"] == ["dirty", "patch"], ch
assert c["patch"]["a"] is None and c["patch"]["b"] > 0, c
c = json.load(open("s23.json"))["compare"]
assert c["a"] == "$r2" and c["b"] == "$r3", c
ch = c["changed"]
assert ch["params"] == ["lr"] and ch["data"] == [] and ch["source"] == [], ch
assert "python" in ch["env"], ch
assert c["patch"]["a"] == c["patch"]["b"] > 0, c
PY
	# the marks: one row per changed field
	expect_eq "$(grep -o "<tr class=\"changed\"" dom23.html | wc -l)" "$(python3 -c "import json; c = json.load(open(\"s23.json\"))[\"compare\"][\"changed\"]; print(sum(len(v) for v in c.values()))")"
'

check "in Chromium: #a=&b= naming no run of the report says so and falls back to the first rows" '
	need_browser
	browse "file://$PWD/r.html#a=nosuchrun&b=$r3" > dnone.html
	page_state dnone.html > snone.json
	python3 - <<PY
import json
s = json.load(open("snone.json"))
c = s["compare"]
assert s["errors"] == [] and c["missing"] == ["nosuchrun"] and c["a"][:12] == s["order"][0] and c["b"] == "$r3", c
PY
	expect_contains "$(cat dnone.html)" "No run here is named nosuchrun."
'

check "in Chromium: the lineage graph: an edge to each parent, by record or through data; a parent outside the report dashed" '
	need_browser
	python3 - <<PY
import json
l = json.load(open("state.json"))["lineage"]
edges = sorted((e["from"], e["to"], e["via"]) for e in l["edges"])
want = sorted([("$r1", "$r2", "dataset in"), ("$r2", "$r3", "parent"), ("$r1", "$r3", "dataset in")])
assert edges == want, edges
assert l["nodes"] == 3 and l["layers"] == 3 and l["outside"] == 0 and l["drawn"] == 3, l
PY
	expect_eq "$(grep -o "<path[^>]*class=\"ledge\"" dom.html | wc -l)" 3
	# without r2: r3 still names it (dashed, outside); r1 to r3 through data stays
	xtrk report -o r13.html $r1 $r3
	browse "file://$PWD/r13.html" > dom13.html
	page_state dom13.html > s13.json
	python3 - <<PY
import json
l = json.load(open("s13.json"))["lineage"]
assert sorted((e["from"], e["to"]) for e in l["edges"]) == sorted([("$r2", "$r3"), ("$r1", "$r3")]), l
assert l["nodes"] == 3 and l["outside"] == 1, l
PY
	expect_contains "$(cat dom13.html)" "not in this report"
	# no links at all: said so
	xtrk report -o r1.html $r1 > /dev/null
	browse "file://$PWD/r1.html" > dom1.html
	python3 -c "import json,sys; l = json.loads(sys.argv[1])[\"lineage\"]; assert l[\"edges\"] == [] and l[\"nodes\"] == 0, l" "$(page_state dom1.html)"
	expect_contains "$(cat dom1.html)" "No run here derives from another"
'

check "in Chromium: hostile param names and values, file names, package names and patch text stay text" '
	need_browser
	for d in dom.html dom12.html dom23.html dom13.html; do
		expect_eq "$(grep -c "<img" $d)" 0
		expect_eq "$(grep -o "<script" $d | wc -l)" 5
		# no address and no attribute a run could have given a value
		expect_eq "$(grep -c "href=\|src=\"" $d)" 0
		expect_eq "$(grep -c "=\"javascript:" $d)" 0
	done
	# as text: in the comparison (param name, value; package name, version; the file name), in the patch
	expect_contains "$(cat dom12.html)" "<th>&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</th><td>javascript:alert(1)</td>"
	expect_contains "$(cat dom12.html)" "<th>package &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</th><td>–</td><td>javascript:alert(1)</td>"
	expect_contains "$(cat dom12.html)" "&lt;img src=x onerror=alert(2)&gt;"
	expect_contains "$(cat dom23.html)" "+# &lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
	python3 -c "import json,sys; s = json.loads(sys.argv[1]); assert s[\"errors\"] == [], s" "$(page_state dom12.html)"
	expect_contains "$(cat dom12.html)" "<title>xtrk report</title>"
'

# A patch over the limit of the page (and big enough to be stored as its own, loose, object).
git stash -q
python3 -c "
import random
random.seed(3)
print('\n'.join('%064x' % random.getrandbits(256) for _ in range(12000)))" > big.txt
git add big.txt && git commit -qm big
sed -i 's/^/changed /' big.txt
r4=$(xtrk commit-run -q -e big -p lr=0.5 -m "a long patch")
p4=$(xtrk show --json $r4 | json_get source.patch)
loose=.xtrk/objects/$(echo $p4 | cut -c1-2)/$(echo $p4 | cut -c3-)

check "a patch over 256 KiB: its first 256 KiB in the file, said to be cut; whole when checked" '
	xtrk report -o big.html $r4 $r3
	python3 - big.html <<PY
exec(open("data.py").read())
p = data["patches"]["$p4"]
text = p["text"].encode()
assert p["cut"] is True and p["bytes"] > 1000000 and p["error"] is None, {k: v for k, v in p.items() if k != "text"}
assert 256 * 1024 - 4 <= len(text) <= 256 * 1024 and text.startswith(b"diff --git a/big.txt"), len(text)
PY
	if command -v "$chromium" > /dev/null 2>&1; then
		browse "file://$PWD/big.html#a=$r4&b=$r3" > dombig.html
		expect_contains "$(cat dombig.html)" "only its first 256.0 KiB are in this report"
	fi
'

check "a damaged patch: the report is written, says which patch it cannot show, and shows none of it" '
	test -f $loose
	cp -p $loose saved && chmod u+w $loose
	flip_byte $loose $(( $(stat -c %s $loose) - 40 ))
	set +e; xtrk report -o dam.html $r4 2> err; rc=$?; set -e
	cp saved $loose
	expect_eq $rc 0
	expect_contains "$(cat err)" "$p4"
	python3 - dam.html <<PY
exec(open("data.py").read())
p = data["patches"]["$p4"]
assert p["text"] == "" and p["error"] and p["bytes"] is None, p
PY
'

check "size: 200 runs sharing a patch store it once; the file grows with the runs, not with the patch" '
	git checkout -q big.txt
	python3 -c "print(\"\\n\".join(\"more %d\" % i for i in range(18000)))" >> train.py
	for i in $(seq 1 200); do xtrk commit-run -q -e many -p lr=0.$i --metric loss=$i > /dev/null; done
	xtrk log -e many --format csv --columns id | tail -n +2 > many
	expect_eq "$(wc -l < many)" 200
	xtrk report -o many100.html $(head -100 many)
	xtrk report -o many200.html $(cat many)
	python3 - many200.html many100.html <<PY
import os, sys
exec(open("data.py").read())
assert len(data["patches"]) == 1, list(data["patches"])
p = list(data["patches"].values())[0]
assert p["bytes"] > 100000 and not p["cut"], p["bytes"]
s100, s200 = os.path.getsize("many100.html"), os.path.getsize("many200.html")
# 100 more runs add their rows and details (under 2 KiB each), never the patch again
assert s200 - s100 < 100 * 2048 and s200 - s100 < p["bytes"] / 2, (s100, s200, p["bytes"])
assert s200 < 2 * s100, (s100, s200)
PY
	expect_eq "$(grep -o "more 17999" many200.html | wc -l)" 1
'

finish
