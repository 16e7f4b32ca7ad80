#!/bin/sh
# Numbers read back exactly: every place xtrk prints a number prints the shortest text that
# reads back as the same double (0.1 as 0.1, 0.07018546015024185 with all its digits).
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
echo d > d.txt

# The values, as Python reads them: xtrk must print text that reads back as exactly these.
cat > want.py <<'PY'
A = {"lr": 0.07018546015024185, "tiny": 1e-300, "big": 123456789.123456789, "tenth": 0.1, "huge": 1e22}
KEYS = sorted(A)
B = {k: A[KEYS[(i + 1) % len(KEYS)]] for i, k in enumerate(KEYS)}  # the same values, rotated
def same(got, want, where):
    assert isinstance(got, (int, float)) and float(got) == want, "%s: got %r, want %r" % (where, got, want)
def num(text, want, where):
    assert float(text) == want, "%s: %r reads back as %r, want %r" % (where, text, float(text), want)
PY
params_file() { # NAME DICT
	python3 -c "import json, sys; sys.path.insert(0, '.'); import want; json.dump(getattr(want, sys.argv[1]), sys.stdout, indent=1)" "$1"
}
params_file A > p.json
metric_args=$(python3 -c "import sys; sys.path.insert(0, '.'); import want; print(' '.join('--metric %s=%r' % kv for kv in want.A.items()))")
a=$(xtrk commit-run -m first -P p.json $metric_args -d d.txt)
params_file B > p.json
metric_args=$(python3 -c "import sys; sys.path.insert(0, '.'); import want; print(' '.join('--metric %s=%r' % kv for kv in want.B.items()))")
b=$(xtrk commit-run -m second -P p.json $metric_args -d d.txt)
params_file A > p.json

# check_py SCRIPT FILE...: run a Python check with want.py importable and the files as arguments.
check_py() { script=$1; shift; python3 -c "import sys; sys.path.insert(0, '.'); from want import *
$script" "$@"; }

check "show --json: every param and metric exact, 0.1 printed as 0.1" '
	xtrk show $a --json > s.json
	check_py "import json; r = json.load(open(sys.argv[1]))
for k in KEYS: same(r[\"params\"][k], A[k], \"params.\" + k); same(r[\"metrics\"][k], A[k], \"metrics.\" + k)" s.json
	expect_contains "$(cat s.json)" "\"tenth\": 0.1,"
	expect_not_contains "$(cat s.json)" "0.1000000"
'
check "show (text): every param and metric exact" '
	xtrk show $a > s.txt
	check_py "
sec = None; seen = {}
for line in open(sys.argv[1]):
    if not line.startswith(\" \"): sec = line.split(\":\")[0]; continue
    f = line.split()
    if sec in (\"params\", \"metrics\") and f[0] in A: num(f[1], A[f[0]], sec + \".\" + f[0]); seen[sec, f[0]] = 1
assert len(seen) == 2 * len(KEYS), seen" s.txt
	expect_contains "$(cat s.txt)" " 0.1
"
'
check "log: default table, --columns table, json and csv" '
	xtrk log -n 1 --sort message > default.txt
	check_py "
line = open(sys.argv[1]).read().splitlines()[1]
got = dict(w.split(\"=\", 1) for w in line.split() if \"=\" in w)
for k in KEYS: num(got[k], A[k], \"metrics.\" + k)" default.txt
	cols=$(check_py "print(\",\".join(\"params.\" + k for k in KEYS) + \",\" + \",\".join(\"metrics.\" + k for k in KEYS))")
	xtrk log --sort message --columns $cols > cols.txt
	check_py "
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()]
head, row = rows[0], rows[1]
for h, v in zip(head, row): num(v, A[h.split(\".\")[1]], h)
assert len(row) == 2 * len(KEYS), row" cols.txt
	xtrk log --sort message --format json > log.json
	check_py "import json; r = json.load(open(sys.argv[1]))[0]
for k in KEYS: same(r[\"params\"][k], A[k], k); same(r[\"metrics\"][k], A[k], k)" log.json
	xtrk log --sort message --format csv --columns $cols > log.csv
	check_py "import csv; r = list(csv.DictReader(open(sys.argv[1])))[0]
for h, v in r.items(): num(v, A[h.split(\".\")[1]], h)" log.csv
	expect_contains "$(cat log.csv)" ",0.1,"
	expect_eq "$(xtrk log --format csv --columns message --where "params.lr ~ \"^0[.]07018546015024185\$\"" | tail -n +2)" first
'
check "export: json and csv" '
	xtrk export --sort message > e.json
	check_py "import json; r = json.load(open(sys.argv[1]))[0]
for k in KEYS: same(r[\"params\"][k], A[k], k); same(r[\"metrics\"][k], A[k], k)" e.json
	xtrk export --sort message --format csv > e.csv
	check_py "import csv; r = list(csv.DictReader(open(sys.argv[1])))[0]
for k in KEYS: num(r[\"params.\" + k], A[k], k); num(r[\"metrics.\" + k], A[k], k)" e.csv
'
check "diff: values and deltas exact, in text and json" '
	xtrk diff --json $a $b > d.json
	check_py "import json; d = json.load(open(sys.argv[1]))
for k in KEYS:
    old, new = d[\"params\"][\"changed\"][k]; same(old, A[k], k); same(new, B[k], k)
    m = d[\"metrics\"][k]; same(m[\"a\"], A[k], k); same(m[\"b\"], B[k], k); same(m[\"delta\"], B[k] - A[k], k)" d.json
	xtrk diff $a $b > d.txt
	check_py "
sec = None; seen = 0
for line in open(sys.argv[1]):
    if not line.startswith(\" \"): sec = line.split(\":\")[0]; continue
    f = line.split()
    if sec == \"params\" and f[0] == \"~\":
        k = f[1].rstrip(\":\"); num(f[2], A[k], k); num(f[4], B[k], k); seen += 1
    if sec == \"metrics\":
        k = f[0].rstrip(\":\"); num(f[1], A[k], k); num(f[3], B[k], k); num(f[4].strip(\"()\"), B[k] - A[k], k); seen += 1
assert seen == 2 * len(KEYS), seen" d.txt
'
check "status --json: params from a changed params file exact" '
	params_file B > p.json
	expect_exit 3 xtrk status --json $a > st.json
	params_file A > p.json
	check_py "import json; d = json.load(open(sys.argv[1]))
for k in KEYS:
    old, new = d[\"params\"][\"changed\"][k]; same(old, A[k], k); same(new, B[k], k)" st.json
'
check "bundle: RUNBOOK.md and the run summary exact" '
	xtrk bundle create -o b.tar $a 2>/dev/null
	tar xf b.tar RUNBOOK.md runs/$a.json
	check_py "import json; r = json.load(open(sys.argv[1]))
for k in KEYS: same(r[\"params\"][k], A[k], k); same(r[\"metrics\"][k], A[k], k)" runs/$a.json
	check_py "import json, re; t = open(sys.argv[1]).read()
blocks = re.findall(r\"\`\`\`json\n(.*?)\n\`\`\`\", t, re.S)
p, m = json.loads(blocks[0]), json.loads(blocks[1])
for k in KEYS: same(p[k], A[k], k); same(m[k], A[k], k)" RUNBOOK.md
	expect_contains "$(cat RUNBOOK.md)" "\"tenth\": 0.1,"
	expect_not_contains "$(cat runs/$a.json)" "0.1000000"
'
check "the stored run record: shortest text, exact" '
	xtrk cat-object $a > rec.json
	check_py "import json; r = json.load(open(sys.argv[1]))
for k in KEYS: same(r[\"params\"][k], A[k], k); same(r[\"metrics\"][k], A[k], k)" rec.json
	expect_contains "$(cat rec.json)" "\"tenth\":0.1,"
'
check "lineage --format json reads back" '
	xtrk lineage $a --format json > g.json
	check_py "import json; json.load(open(sys.argv[1]))" g.json
'
check "commit-run --json (a third run, so last)" '
	xtrk commit-run --json -m third -p lr=0.07018546015024185 -p tenth=0.1 -p huge=1e22 > c.json
	check_py "import json; r = json.load(open(sys.argv[1]))
for k in (\"lr\", \"tenth\", \"huge\"): same(r[\"params\"][k], A[k], k)" c.json
	expect_contains "$(cat c.json)" "\"tenth\": 0.1"
'
finish
