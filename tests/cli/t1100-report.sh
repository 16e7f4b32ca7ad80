#!/bin/sh
# xtrk report: one self-contained HTML file with the runs table, their step series as charts, tags
# and notes, checked in a real browser (headless Chromium; those checks skip when it is absent):
# one row per run, each chart drawn, no script errors, hostile run content shown as text only.
# The file itself is checked without a browser: data as escaped JSON, every point kept, exactly.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws

. "$XTRK_TEST_SRCDIR/tests/cli/browser.sh"
# The data JSON of a report file, decoded: python3 - FILE with the page's data in `data` and dec().
cat > data.py <<'EOF'
import base64, json, re, struct, sys, zlib
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="xtrk-data">(.*?)</script>', page, re.S)
data = json.loads(m.group(1))
m = re.search(r'<script type="application/octet-stream" id="xtrk-series">([A-Za-z0-9+/=]*)</script>', page)
block = zlib.decompress(base64.b64decode(m.group(1)))
assert len(block) == data["series_bytes"], (len(block), data["series_bytes"])
def planes(at, n, w):
    return bytes(block[at + k * n + i] for i in range(n) for k in range(w))
def dec(d):
    """A line {o, n, st, vt} as (steps, values), read as the page reads it."""
    n, sw, vw = d["n"], 4 if d["st"] == "d4" else 8, 8 if d["vt"] == "f8" else 4
    sraw, vraw = planes(d["o"], n, sw), planes(d["o"] + n * sw, n, vw)
    steps = list(struct.unpack("<%d%s" % (n, "i" if sw == 4 else "d"), sraw))
    if sw == 4:
        for i in range(1, n):
            steps[i] += steps[i - 1]
    vals = list(struct.unpack("<%d%s" % (n, {"i4": "i", "f4": "f", "f8": "d"}[d["vt"]]), vraw))
    return steps, vals
EOF

hostile='</script><img src=x onerror=alert(1)>'
pwn='<img src=x onerror="document.title=1">'
# Two runs with series (one of them with a hostile metric name), one without, hostile text in a
# message, a param's name and value, a note; a line separator in a message.
python3 - <<'EOF'
import json
with open("a.jsonl", "w") as f:
    for s in range(50):
        f.write(json.dumps({"step": s, "loss": 2.0 / (s + 1), "acc": s / 50}) + "\n")
with open("b.jsonl", "w") as f:
    for s in range(0, 100, 2):
        f.write(json.dumps({"step": s, "loss": 0.1 + 1.0 / (s + 1), "</script><img src=x onerror=alert(1)>": 0.3}) + "\n")
EOF
a=$(xtrk commit-run -e exp -M a.jsonl -p lr=0.1 -m "$hostile" --tag base)
b=$(xtrk commit-run -e exp -M b.jsonl -p "$hostile=$pwn" -m "javascript:alert(1)")
c=$(xtrk commit-run -e other -p lr=0.001 -m "$(printf 'line\342\200\250sep\342\200\251x')")
xtrk note $b -m "$pwn" >/dev/null

check "the file: data only as JSON with <, >, & and U+2028/9 escaped; no markup from a run; no network" '
	xtrk report -o r.html
	test -s r.html
	# the five closing tags the page writes itself (data, series, uPlot, page script, views script), none from a run
	expect_eq "$(grep -o "</script" r.html | wc -l)" 5
	expect_eq "$(grep -c "<img" r.html)" 0
	expect_eq "$(grep -c "$(printf "\342\200\250")" r.html)" 0
	expect_contains "$(cat r.html)" "\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e"
	expect_contains "$(cat r.html)" "line\\u2028sep\\u2029x"
	expect_contains "$(cat r.html)" "default-src '"'"'none'"'"'"
	# no address to fetch anything from
	expect_eq "$(grep -Eoi "(src|href)=\"?(https?:)?//" r.html | wc -l)" 0
	python3 data.py r.html
	PWN=$pwn python3 - r.html <<PY
exec(open("data.py").read())
import os
assert len(data["runs"]) == 3, data["runs"]
msgs = sorted(r.get("message", "") for r in data["runs"])
assert "$hostile" in msgs and "javascript:alert(1)" in msgs and "line\u2028sep\u2029x" in msgs, msgs
b = [r for r in data["runs"] if r["id"] == "$b"][0]
assert b["notes"] == [os.environ["PWN"]], b["notes"]
PY
'

check "every point kept, exactly: steps and values read back from the file as logged" '
	python3 - > big.jsonl <<PY
import json, random
random.seed(7)
for s in range(25000):
    v = 1.0 + random.random() * 0.01
    if s == 12345:
        v = 99.5  # one spike
    print(json.dumps({"step": s * 3, "noisy": v, "third": s / 3}))
PY
	big=$(xtrk commit-run -e big -M big.jsonl 2>/dev/null)
	xtrk report -o big.html $big
	python3 - big.html <<PY
exec(open("data.py").read())
import json
want = [json.loads(l) for l in open("big.jsonl")]
s = data["series"][0]
for k in ("noisy", "third"):
    steps, got = dec(s["m"][k])
    assert steps == [w["step"] for w in want], k + ": steps differ"
    assert got == [w[k] for w in want], k + " differs"
    assert s["m"][k]["n"] == s["m"][k]["of"] == 25000
assert s["m"]["third"]["vt"] == "f8" and s["m"]["third"]["st"] == "d4"
PY
'

check "selection: RUNs, -e, --where; a bad --where or unknown run is refused and writes nothing" '
	xtrk report -o two.html $a base $c
	python3 - two.html <<PY
exec(open("data.py").read())
assert [r["id"] for r in data["runs"]] == ["$a", "$c"], data["runs"]
PY
	xtrk report -o exp.html -e exp
	python3 - exp.html <<PY
exec(open("data.py").read())
assert sorted(r["id"] for r in data["runs"]) == sorted(["$a", "$b"])
PY
	xtrk report -o w.html --where "params.lr < 0.05" --columns id,params.lr,metrics.loss
	python3 - w.html <<PY
exec(open("data.py").read())
assert [r["id"] for r in data["runs"]] == ["$c"]
assert data["columns"] == ["id", "params.lr", "metrics.loss"]
assert data["runs"][0]["cells"] == ["$c", 0.001, None], data["runs"][0]["cells"]
PY
	xtrk report -o - $a | grep "id=\"xtrk-data\"" > /dev/null
	set +e
	xtrk report -o bad.html --where "params.lr <" 2> err; rc1=$?
	xtrk report -o bad.html 0000000000000000deadbeef 2> err2; rc2=$?
	xtrk report -o bad.html --columns "a..b" 2> err3; rc3=$?
	xtrk report -o bad.html -e exp $a 2> err4; rc4=$?
	set -e
	expect_eq "$rc1 $rc2 $rc3 $rc4" "2 1 2 2"
	test ! -e bad.html
	expect_eq "$(ls | grep -c "bad.html")" 0
'

check "in Chromium: one row per run, each chart drawn, no script errors" '
	need_browser
	browse "file://$PWD/r.html" > dom.html
	page_state dom.html > state.json
	python3 - <<PY
import json
s = json.load(open("state.json"))
assert s.get("errors") == [], s
assert s["runs"] == 3 and s["rows"] == 3, s
# loss, acc and the hostile-named metric: a chart each, and the parallel coordinates; each with coloured line pixels
assert s["charts"] == 4 and s["drawn"] == 4, s
assert all(p > 50 for p in s["pixels"]), s
PY
'

check "in Chromium: hostile strings stay text; no element, script or title change from a run" '
	need_browser
	test -s dom.html
	expect_eq "$(grep -c "<img" dom.html)" 0
	expect_eq "$(grep -o "<script" dom.html | wc -l)" 5
	expect_contains "$(cat dom.html)" "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
	expect_contains "$(cat dom.html)" "&lt;img src=x onerror=\"document.title=1\"&gt;"
	expect_contains "$(cat dom.html)" "javascript:alert(1)"
	expect_contains "$(cat dom.html)" "<title>xtrk report</title>"
	expect_not_contains "$(cat dom.html)" "href="
'

check "in Chromium: a long series is drawn from min/max buckets, its spike kept" '
	need_browser
	browse "file://$PWD/big.html" > bigdom.html
	page_state bigdom.html > bigstate.json
	python3 - <<PY
import json
s = json.load(open("bigstate.json"))
assert s.get("errors") == [] and s["drawn"] == 2, s
assert 5000 < s["points"]["noisy"] <= 10000, s
assert s["max"]["noisy"] == 99.5, s
PY
'

check "past --points each run keeps its share: logged points only, the spike of each stretch kept; --all-points keeps all" '
	i=0
	while [ $i -lt 12 ]; do
		python3 - $i > m$i.jsonl <<PY
import json, random, sys
i = int(sys.argv[1])
random.seed(i)
for s in range(3000):
    loss = 1.0 + random.random()
    if s == 100 * i + 7:
        loss = 50.0 + i  # one spike a run
    print(json.dumps({"step": s * 2, "loss": loss, "lr": 0.1}))
PY
		xtrk commit-run -e many -M m$i.jsonl -p i=$i > /dev/null 2>&1
		i=$((i + 1))
	done
	xtrk report -e many --points 12000 -o many.html
	xtrk report -e many --all-points -o manyall.html
	python3 - many.html <<PY
exec(open("data.py").read())
import json
assert len(data["series"]) == 12
total = 0
for s in data["series"]:
    d = s["m"]["loss"]
    assert d["of"] == 3000 and d["n"] < 1000, d
    steps, vals = dec(d)
    total += d["n"] + s["m"]["lr"]["n"]
    assert steps == sorted(set(steps)), "steps ascending, each once"
    assert max(vals) >= 50.0, "the spike is kept"
# every kept point is a logged one
logged = {}
for i in range(12):
    for l in open("m%d.jsonl" % i):
        o = json.loads(l)
        logged.setdefault(o["step"], set()).add(o["loss"])
for s in data["series"]:
    steps, vals = dec(s["m"]["loss"])
    for st, v in zip(steps, vals):
        assert v in logged[st], (st, v)
assert total <= 12000, total
PY
	python3 - manyall.html <<PY
exec(open("data.py").read())
for s in data["series"]:
    assert s["m"]["loss"]["n"] == s["m"]["loss"]["of"] == 3000
PY
	test $(wc -c < many.html) -lt $(wc -c < manyall.html)
	set +e
	xtrk report -e many --points 10 -o bad.html 2>/dev/null; rc1=$?
	xtrk report -e many --points 5000 --all-points -o bad.html 2>/dev/null; rc2=$?
	set -e
	expect_eq "$rc1 $rc2" "2 2"
	test ! -e bad.html
	need_browser
	browse "file://$PWD/many.html" > manydom.html
	page_state manydom.html > manystate.json
	python3 - <<PY
import json
s = json.load(open("manystate.json"))
assert s.get("errors") == [] and s["ready"] and s["drawn"] == s["charts"] == 3, s  # loss, lr, the parallel chart
assert s["max"]["loss"] == 61.0, s
PY
	expect_contains "$(cat manydom.html)" "this file keeps only those points for 12 of them"
'

check "in Chromium: #sort=-COLUMN&filter=TEXT opens the table sorted and filtered" '
	need_browser
	browse "file://$PWD/exp.html#sort=-params.lr" > d1.html
	browse "file://$PWD/r.html#sort=params.lr&filter=javascript" > d2.html
	page_state d1.html > s1.json
	page_state d2.html > s2.json
	python3 - <<PY
import json
s1, s2 = json.load(open("s1.json")), json.load(open("s2.json"))
# exp: a has params.lr 0.1, b has none (runs without the field go last)
assert s1["order"] == ["$a"[:12], "$b"[:12]], s1
assert s2["order"] == ["$b"[:12]] and s2["rows"] == 1, s2
PY
'

check "in Chromium: a param against a metric, one point per run that has both, chosen by #x=&y=" '
	need_browser
	browse "file://$PWD/exp.html#x=params.lr&y=metrics.loss" > d3.html
	page_state d3.html > s3.json
	python3 - <<PY
import json
s = json.load(open("s3.json"))
assert s["errors"] == [], s
# a has params.lr and metrics.loss (its series last value); b has no params.lr
assert s["scatter"]["x"] == "params.lr" and s["scatter"]["y"] == "metrics.loss", s
assert s["scatter"]["points"] == 1 and s["scatter"]["pixels"] > 10, s
PY
	python3 - exp.html <<PY
exec(open("data.py").read())
a = [r for r in data["runs"] if r["id"] == "$a"][0]
assert a["num"]["params.lr"] == 0.1 and "metrics.loss" in a["num"], a["num"]
PY
'

check "bundle create: report.html next to RUNBOOK.md, of the bundle's runs (not with --no-report); import takes it, not twice" '
	xtrk bundle create -o b.tar $a $c > /dev/null
	expect_eq "$(tar tf b.tar | sed -n 1,3p | tr "\n" " ")" "RUNBOOK.md report.html xtrk-bundle.json "
	tar xf b.tar report.html
	python3 - report.html <<PY
exec(open("data.py").read())
assert sorted(r["id"] for r in data["runs"]) == sorted(["$a", "$c"]), data["runs"]
assert data["title"] == "b.tar"
PY
	expect_eq "$(grep -c "<img" report.html)" 0
	mkdir imp && (cd imp && xtrk init > /dev/null && xtrk bundle import ../b.tar > /dev/null)
	expect_eq "$(xtrk -C imp log --format csv --columns id | tail -n +2 | sort | tr "\n" " ")" "$(printf "%s\n" $a $c | sort | tr "\n" " ")"
	cp b.tar twice.tar
	tar rf twice.tar report.html
	set +e; (cd imp && xtrk bundle import ../twice.tar) > out 2> err; rc=$?; set -e
	test $rc -ne 0
	expect_contains "$(cat err)" "report.html"
	expect_contains "$(cat err)" "duplicate"
	# --no-report: none, and the bundle still imports
	xtrk bundle create -o lean.tar --no-report $a > /dev/null
	expect_eq "$(tar tf lean.tar | grep -c "^report.html$" || :)" 0
	(cd imp && xtrk bundle import ../lean.tar > /dev/null)
	if command -v "$chromium" > /dev/null 2>&1; then
		browse "file://$PWD/report.html" > bdom.html
		page_state bdom.html > bstate.json
		python3 -c "import json; s = json.load(open(\"bstate.json\")); assert s[\"errors\"] == [] and s[\"rows\"] == 2 and s[\"drawn\"] == 3, s"
	fi
'

check "stages: a staged run shows its stage (a column of the table, a badge on its card); none staged, no column" '
	xtrk report -e exp -o nostage.html
	xtrk stage $a production -m "$hostile" > /dev/null
	xtrk report -e exp -o staged.html
	python3 - nostage.html <<PY
exec(open("data.py").read())
assert "stage" not in data["columns"], data["columns"]
assert all("stage" not in r for r in data["runs"])
PY
	python3 - staged.html <<PY
exec(open("data.py").read())
assert data["columns"][:5] == ["id", "experiment", "started", "status", "stage"], data["columns"]
row = [r for r in data["runs"] if r["id"] == "$a"][0]
assert row["stage"] == "production" and row["cells"][4] == "production", row
assert [r for r in data["runs"] if r["id"] == "$b"][0]["cells"][4] is None
PY
	need_browser
	browse "file://$PWD/staged.html" > stagedom.html
	expect_contains "$(cat stagedom.html)" "stage: production"
	page_state stagedom.html > stagestate.json
	python3 -c "import json; s = json.load(open(\"stagestate.json\")); assert s[\"errors\"] == [] and s[\"ready\"], s"
'

finish
