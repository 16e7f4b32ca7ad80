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
'
check 'JUnit XML parses, with a test case per rule and the failures marked' '
	good=$(cat "$TRASH/good")
	git config -f .xtrk/config gate.min.acc 0.9
	expect_exit 1 xtrk check --format junit --against $good $good > junit.xml
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
check 'usage errors: exit 2; an unknown run: exit 1' '
	expect_exit 2 xtrk check --format xml
	expect_exit 2 xtrk check a b
	expect_exit 1 xtrk check no-such-run
'
finish
