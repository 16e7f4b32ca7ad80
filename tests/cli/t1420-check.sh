#!/bin/sh
# xtrk check: the [gate] rules (metric thresholds, leakage, drift against a base), a verdict
# per rule, exit 1 when any fails, and JUnit XML that parses.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws

python3 - <<'EOF'
import random
r = random.Random(1420)
def write(name, rows):
    with open(name, "w") as f:
        f.write("x,c\n" + "".join("%.6f,%s\n" % row for row in rows))
train = [(r.gauss(0, 1), r.choice("ab")) for _ in range(4000)]
write("train.csv", train)
write("test.csv", [(r.gauss(0, 1), r.choice("ab")) for _ in range(1000)])
write("test_leaky.csv", [(r.gauss(0, 1), r.choice("ab")) for _ in range(990)] + train[:10])
write("train_shifted.csv", [(r.gauss(0.6, 1), r.choice("ab")) for _ in range(4000)])
with open("train_nocat.csv", "w") as f:
    f.write("x\n" + "".join("%.6f\n" % row[0] for row in train))
EOF

# junit_valid FILE: the JUnit report validates against tests/data/junit.xsd (xmllint, from Debian's
# libxml2-utils, which the quickstart installs).
junit_valid() {
	command -v xmllint >/dev/null || { echo "xmllint is missing (apt-get install libxml2-utils)"; return 1; }
	xmllint --noout --schema "$XTRK_TEST_SRCDIR/tests/data/junit.xsd" "$1" 2>&1
}
cat > "$TRASH/junit_kinds.py" <<'EOF'
import sys
import xml.etree.ElementTree as E
suite = E.parse(sys.argv[1]).getroot().find("testsuite")
cases = {c.get("classname"): c for c in suite.findall("testcase")}
for k in ("xtrk.gate.regress", "xtrk.gate.params", "xtrk.gate.require"):
    assert cases[k].find("failure") is not None, k
assert "lr (changed)" in cases["xtrk.gate.params"].find("failure").get("message")
assert cases["xtrk.gate.leakage"].find("failure") is None
assert int(suite.get("failures")) == 3, suite.get("failures")
EOF

check 'metric thresholds from [gate "min"] and [gate "max"]: a verdict each, exit 1 when one fails' '
	id=$(xtrk commit-run -d train=train.csv -d test=test.csv --metric acc=0.8 --metric loss=0.3)
	echo $id > "$TRASH/good"
	git config -f .xtrk/config gate.min.acc 0.75
	git config -f .xtrk/config gate.max.loss 0.5
	xtrk check $id > out
	grep "^pass  acc >= 0.75: acc = 0.8$" out >/dev/null
	grep "^pass  loss <= 0.5" out >/dev/null
	grep "^pass  no leakage" out >/dev/null
	git config -f .xtrk/config gate.min.acc 0.9
	expect_exit 1 xtrk check $id > out
	grep "^FAIL  acc >= 0.9: acc = 0.8, below 0.9$" out >/dev/null
	git config -f .xtrk/config gate.max.f1 0.9
	expect_exit 1 xtrk check $id > out
	grep "^FAIL  f1 <= 0.9: the run has no metric" out >/dev/null
	git config -f .xtrk/config --remove-section gate.max
	git config -f .xtrk/config gate.min.acc 0.75
	xtrk check $id
'
check 'leakage fails the gate; gate.leakage = false turns the rule off' '
	id=$(xtrk commit-run -d train=train.csv -d test=test_leaky.csv --metric acc=0.8)
	expect_exit 1 xtrk check --format json $id > out.json
	expect_eq "$(json_get rules.1.rule < out.json)" "no leakage"
	expect_eq "$(json_get rules.1.ok < out.json)" false
	expect_eq "$(json_get rules.1.message < out.json)" "10 rows shared between training and evaluation data"
	git config -f .xtrk/config gate.leakage false
	xtrk check $id
	git config -f .xtrk/config --unset gate.leakage
'
check 'drift against a base fails the gate' '
	good=$(cat "$TRASH/good")
	id=$(xtrk commit-run -d train=train_shifted.csv -d test=test.csv --metric acc=0.8)
	xtrk check --against $good $good
	expect_exit 1 xtrk check --against $good $id > out
	grep "^FAIL  no drift in train" out >/dev/null
	grep "^pass  no drift in test" out >/dev/null
	expect_exit 1 xtrk check --against $good $id > out
	grep "^FAIL  no drift in train: 1 column over the \[drift\] limits: x (psi, ks)$" out >/dev/null
	# a dropped column fails the rule, named
	id=$(xtrk commit-run -d train=train_nocat.csv -d test=test.csv --metric acc=0.8)
	expect_exit 1 xtrk check --against $good $id > out
	grep "^FAIL  no drift in train: 1 column over the \[drift\] limits: c (dropped)$" out >/dev/null
'
check 'JUnit XML validates against the schema CI systems read, with a test case per rule and the failures marked' '
	good=$(cat "$TRASH/good")
	git config -f .xtrk/config gate.min.acc 0.9
	expect_exit 1 xtrk check --format junit --against $good $good > junit.xml
	junit_valid junit.xml
	python3 - <<EOF
import xml.etree.ElementTree as E
root = E.parse("junit.xml").getroot()
assert root.tag == "testsuites", root.tag
suite = root.find("testsuite")
cases = suite.findall("testcase")
assert len(cases) == int(suite.get("tests")) == 4, len(cases)
failed = [c.get("name") for c in cases if c.find("failure") is not None]
assert failed == ["acc >= 0.9"], failed
assert int(suite.get("failures")) == 1
EOF
	git config -f .xtrk/config gate.min.acc 0.75
'
check 'regressions against a baseline: at most X (or X%) worse, the direction per metric' '
	git config -f .xtrk/config --remove-section gate.min
	b=$(xtrk commit-run -e reg --metric acc=0.80 --metric loss=0.30 --metric score=5 --metric auc=0.9)
	c=$(xtrk commit-run -e reg --metric acc=0.795 --metric loss=0.32 --metric score=6)
	git config -f .xtrk/config gate.regress.acc 0.01
	xtrk check --against $b $c > out
	grep "^baseline $b$" out >/dev/null
	grep "^pass  acc regresses at most 0.01: acc = 0.795, baseline 0.8 (higher is better): 0.005 worse, 0.01 allowed$" out >/dev/null
	git config -f .xtrk/config gate.regress.acc 0.001
	expect_exit 1 xtrk check --against $b $c > out
	grep "^FAIL  acc regresses at most 0.001: acc = 0.795, baseline 0.8 (higher is better): 0.005 worse" out >/dev/null
	git config -f .xtrk/config --remove-section gate.regress
	git config -f .xtrk/config gate.regress.metrics.acc 1%
	xtrk check --against $b $c
	git config -f .xtrk/config --remove-section gate.regress.metrics
	# loss: lower is better by its name; 0.02 worse
	git config -f .xtrk/config gate.regress.loss 0.01
	expect_exit 1 xtrk check --against $b $c > out
	grep "^FAIL  loss regresses at most 0.01: loss = 0.32, baseline 0.3 (lower is better): 0.02 worse" out >/dev/null
	git config -f .xtrk/config gate.regress.loss 10%
	xtrk check --against $b $c
	git config -f .xtrk/config gate.regress.loss 0.01
	git config -f .xtrk/config gate.order.loss max
	xtrk check --against $b $c > out
	grep "^pass  loss regresses at most 0.01: .*(higher is better): 0.02 better or equal" out >/dev/null
	git config -f .xtrk/config --remove-section gate.order
	git config -f .xtrk/config --remove-section gate.regress
	# score: a [gate "max"] says lower is better
	git config -f .xtrk/config gate.max.score 10
	git config -f .xtrk/config gate.regress.score 0.5
	expect_exit 1 xtrk check --against $b $c > out
	grep "^FAIL  score regresses at most 0.5: .*(lower is better): 1 worse" out >/dev/null
	git config -f .xtrk/config --remove-section gate.max
	git config -f .xtrk/config gate.regress.score 2
	xtrk check --against $b $c
	# a metric the run lacks, no baseline at all, a nonsense allowance: each fails
	git config -f .xtrk/config gate.regress.auc 0.1
	expect_exit 1 xtrk check --against $b $c > out
	grep "^FAIL  auc regresses at most 0.1: the run has no metric .auc.$" out >/dev/null
	expect_exit 1 xtrk check $c > out
	grep "^FAIL  score regresses at most 2: no baseline to compare with" out >/dev/null
	git config -f .xtrk/config gate.regress.score -1
	expect_exit 1 xtrk check --against $b $b > out
	grep "^FAIL  score regresses at most -1: the allowance .-1. is not a number" out >/dev/null
	git config -f .xtrk/config gate.order.score best
	expect_exit 2 xtrk check --against $b $b
	git config -f .xtrk/config --remove-section gate.order
	git config -f .xtrk/config --remove-section gate.regress
'
check 'params that may change against the baseline; any other change fails and is named' '
	b=$(xtrk commit-run -e par -p lr=0.1 -p epochs=10 -p batch=32 -p opt.beta=0.9 -p seed=1)
	c=$(xtrk commit-run -e par -p lr=0.2 -p epochs=20 -p batch=64 -p opt.beta=0.95 -p dropout=0.5)
	git config -f .xtrk/config gate.params "lr, epochs"
	expect_exit 1 xtrk check --against $b $c > out
	grep "^FAIL  params may change: lr, epochs: 4 params changed that may not: batch (changed), dropout (added), opt.beta (changed), seed (removed)$" out >/dev/null
	git config -f .xtrk/config gate.params "lr,epochs, batch,drop*,opt.*, seed"
	xtrk check --against $b $c > out
	grep "^pass  params may change: .*: changed, as allowed: batch, dropout, epochs, lr, opt.beta, seed$" out >/dev/null
	xtrk check --against $b $b > out
	grep "^pass  params may change: .*: no param changed$" out >/dev/null
	git config -f .xtrk/config gate.params ""
	expect_exit 1 xtrk check --against $b $c > out
	grep "^FAIL  params may change: none: 6 params changed" out >/dev/null
	expect_exit 1 xtrk check $c > out
	grep "^FAIL  params may change: none: no baseline to compare with" out >/dev/null
	git config -f .xtrk/config --unset gate.params
'
check 'require rules: --where expressions the run must match, each a verdict' '
	id=$(xtrk commit-run -e req -p lr=0.1 --metric acc=0.8)
	git config -f .xtrk/config --add gate.require "metrics.acc >= 0.79"
	xtrk check $id > out
	grep "^pass  require metrics.acc >= 0.79: the run matches$" out >/dev/null
	git config -f .xtrk/config --add gate.require "params.lr == 0.5 or metrics.acc > 0.9"
	expect_exit 1 xtrk check $id > out
	grep "^pass  require metrics.acc >= 0.79" out >/dev/null
	grep "^FAIL  require params.lr == 0.5 or metrics.acc > 0.9: the run does not match$" out >/dev/null
	git config -f .xtrk/config --add gate.require "metrics.acc >>> 1"
	expect_exit 2 xtrk check $id 2> err
	grep "gate.require in .xtrk/config: column" err >/dev/null
	git config -f .xtrk/config --unset-all gate.require
	git config -f .xtrk/config gate.requires "metrics.acc > 0"
	expect_exit 2 xtrk check $id 2> err
	grep "unknown key gate.requires" err >/dev/null
	git config -f .xtrk/config --unset gate.requires
'
check 'a stage as the baseline: the run in that stage of the experiment; none found is exit 2' '
	p1=$(xtrk commit-run -e st --metric acc=0.70)
	p2=$(xtrk commit-run -e st --metric acc=0.90)
	s1=$(xtrk commit-run -e st --metric acc=0.50)
	other=$(xtrk commit-run -e st-other --metric acc=0.99)
	cur=$(xtrk commit-run -e st --metric acc=0.85)
	xtrk stage $other production
	xtrk stage $p1 production
	xtrk stage $s1 staging
	git config -f .xtrk/config gate.regress.acc 0.01
	xtrk check --against production $cur > out
	grep "^baseline $p1$" out >/dev/null
	xtrk check --against stage:production --format json $cur > out.json
	expect_eq "$(json_get base < out.json)" $p1
	sleep 1
	xtrk stage $p2 production
	expect_exit 1 xtrk check --against production $cur > out
	grep "^baseline $p2$" out >/dev/null
	grep "^FAIL  acc regresses at most 0.01: acc = 0.85, baseline 0.9" out >/dev/null
	sleep 1
	xtrk stage $p1 production
	xtrk check --against production $cur > out
	grep "^baseline $p1$" out >/dev/null
	xtrk check --against stage:staging $cur > out
	grep "^baseline $s1$" out >/dev/null
	git config -f .xtrk/config gate.against stage:staging
	xtrk check $cur > out
	grep "^baseline $s1$" out >/dev/null
	git config -f .xtrk/config gate.against canary
	expect_exit 2 xtrk check $cur 2> err
	grep "no run of experiment .st. is in stage .canary.: there is no baseline" err >/dev/null
	git config -f .xtrk/config --unset gate.against
	expect_exit 2 xtrk check --against stage:archived $cur 2> err
	grep "no run of experiment .st. is in stage .archived." err >/dev/null
	expect_exit 2 xtrk check --against no-such-thing $cur 2> err
	grep "no-such-thing. names no run, and no run of experiment .st. is in stage" err >/dev/null
	expect_exit 2 xtrk check --against "bad/name" $cur 2> err
	grep "names no run" err >/dev/null
	expect_exit 2 xtrk check --against "stage:" $cur
	expect_exit 2 xtrk check --against "" $cur
	git config -f .xtrk/config --remove-section gate.regress
'
check 'each new rule has its verdict in JSON and in JUnit XML' '
	b=$(xtrk commit-run -e fmt -p lr=0.1 --metric acc=0.8)
	c=$(xtrk commit-run -e fmt -p lr=0.2 --metric acc=0.7)
	git config -f .xtrk/config gate.regress.acc 0.01
	git config -f .xtrk/config gate.params epochs
	git config -f .xtrk/config gate.require "metrics.acc > 0.75"
	expect_exit 1 xtrk check --format json --against $b $c > out.json
	expect_eq "$(json_get ok < out.json)" false
	expect_eq "$(json_get failed < out.json)" 3
	expect_eq "$(json_get rules.0.kind < out.json)" regress
	expect_eq "$(json_get rules.1.kind < out.json)" params
	expect_eq "$(json_get rules.1.message < out.json)" "1 param changed that may not: lr (changed)"
	expect_eq "$(json_get rules.2.kind < out.json)" require
	expect_eq "$(json_get rules.2.ok < out.json)" false
	expect_exit 1 xtrk check --format junit --against $b $c > junit.xml
	junit_valid junit.xml
	python3 "$TRASH/junit_kinds.py" junit.xml
	git config -f .xtrk/config --remove-section gate.regress
	git config -f .xtrk/config --unset gate.params
	git config -f .xtrk/config --unset gate.require
'
check 'usage errors: exit 2; an unknown run: exit 1' '
	expect_exit 2 xtrk check --format xml
	expect_exit 2 xtrk check a b
	expect_exit 1 xtrk check no-such-run
'
finish
