#!/bin/sh
# xtrk drift: PSI and KS per column from the profiles' sketches, missing-rate change, new
# categories, the limits from [drift] in the config, and exit 3 when any is over.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws

# base.csv: x and y ~ N(0, 1).  cur.csv: x ~ N(0.5, 1) (shifted), y a fresh N(0, 1) sample.
# same.csv: both fresh N(0, 1) samples, cat with the base's categories.  Seeded.
python3 - <<'EOF'
import random
def write(name, seed, shift, miss, cats):
    r = random.Random(seed)
    with open(name, "w") as f:
        f.write("x,y,cat,m\n")
        for i in range(20000):
            m = "" if i < miss else "%.4f" % r.random()
            f.write("%.6f,%.6f,%s,%s\n" % (r.gauss(shift, 1), r.gauss(0, 1), r.choice(cats), m))
write("base.csv", 1, 0.0, 0, ["a", "b", "c"])
write("cur.csv", 2, 0.5, 0, ["a", "b", "c"])
write("same.csv", 3, 0.0, 0, ["a", "b", "c"])
write("holes.csv", 4, 0.0, 6000, ["a", "b", "c", "d"])
# dropped.csv: base.csv less its column m.
with open("base.csv") as f, open("dropped.csv", "w") as g:
    for line in f:
        g.write(",".join(line.rstrip("\n").split(",")[:3]) + "\n")
# Many categories: a, b, c and 200 rare ones (r0..r199), more than the top values keep.
def cats(name, seed, extra, share):
    r = random.Random(seed)
    with open(name, "w") as f:
        f.write("cat\n")
        for i in range(20000):
            if r.random() < share:
                f.write(extra + "\n")
            elif r.random() < 0.2:
                f.write("r%d\n" % r.randrange(200))
            else:
                f.write(r.choice("abc") + "\n")
cats("many.csv", 5, "", 0)
cats("many_same.csv", 6, "", 0)
cats("many_z.csv", 7, "z", 0.25)
cats("many_once.csv", 8, "", 0)
with open("many_once.csv", "a") as f:
    f.write("zz\n")
# few.csv: 1000 rows, every value kept: a, b, c and r5 (a rare value of many.csv) 5 times.
with open("few.csv", "w") as f:
    f.write("cat\n" + "r5\n" * 5 + "".join("abc"[i % 3] + "\n" for i in range(995)))
EOF

over() { python3 -c 'import json,sys
d=json.load(sys.stdin)
print(" ".join(c["name"] + ":" + ",".join(c["over"]) for cmp in d["comparisons"] for c in cmp["drift"]["columns"] if c["over"]))'; }

check 'a shifted normal column is flagged (PSI and KS) and an unshifted one is not; exit 3' '
	expect_exit 3 xtrk drift --json base.csv cur.csv > out.json
	expect_eq "$(over < out.json)" "x:psi,ks"
	ks=$(json_get comparisons.0.drift.columns.0.ks < out.json)
	python3 -c "assert 0.15 < $ks < 0.25, $ks"
	python3 -c "assert $(json_get comparisons.0.drift.columns.1.ks < out.json) < 0.05"
	python3 -c "assert $(json_get comparisons.0.drift.columns.1.psi < out.json) < 0.05"
	expect_exit 3 xtrk drift base.csv cur.csv > out.txt
	grep -E "^  x .*OVER psi,ks" out.txt >/dev/null
	! grep -E "^  y .*OVER" out.txt
'
check 'data from the same distribution is no drift: exit 0' '
	xtrk drift --json base.csv same.csv > out.json
	expect_eq "$(over < out.json)" ""
	expect_eq "$(json_get over < out.json)" 0
'
check 'a change in the missing rate and new categories are flagged' '
	expect_exit 3 xtrk drift --json base.csv holes.csv > out.json
	expect_eq "$(over < out.json)" "cat:new_categories m:missing"
	expect_eq "$(json_get comparisons.0.drift.columns.2.new_categories.0 < out.json)" d
	expect_eq "$(json_get comparisons.0.drift.columns.3.missing_change < out.json)" 0.3
'
check 'runs compare by their datasets, paired by name' '
	a=$(xtrk commit-run -d data=base.csv)
	b=$(xtrk commit-run -d data=cur.csv)
	c=$(xtrk commit-run -d data=same.csv)
	expect_exit 3 xtrk drift $a $b
	xtrk drift $a $c
	expect_exit 3 xtrk drift $a cur.csv
	expect_exit 3 xtrk drift --json $a $c $b > out.json
	expect_eq "$(over < out.json)" "x:psi,ks"
'
check 'the limits come from [drift] in the config' '
	git config -f .xtrk/config drift.psi 5
	git config -f .xtrk/config drift.ks 0.5
	xtrk drift base.csv cur.csv
	git config -f .xtrk/config drift.ks 0.15
	expect_exit 3 xtrk drift --json base.csv cur.csv > out.json
	expect_eq "$(over < out.json)" "x:ks"
	git config -f .xtrk/config drift.newCategories false
	git config -f .xtrk/config drift.missing 0.5
	xtrk drift base.csv holes.csv
	git config -f .xtrk/config drift.ks nonsense
	expect_exit 2 xtrk drift base.csv cur.csv
	git config -f .xtrk/config --remove-section drift
'
check 'a dropped column counts as over: exit 3' '
	expect_exit 3 xtrk drift --json base.csv dropped.csv > out.json
	expect_eq "$(json_get over < out.json)" 1
	expect_eq "$(json_get comparisons.0.drift.over < out.json)" 1
	expect_eq "$(json_get comparisons.0.drift.missing_columns.0 < out.json)" m
	expect_eq "$(over < out.json)" ""
	expect_exit 3 xtrk drift base.csv dropped.csv > out.txt
	grep -E "^  m +dropped \(only in the base\)  OVER$" out.txt >/dev/null
	# a new column is listed, not flagged
	xtrk drift dropped.csv dropped.csv
	xtrk drift --json dropped.csv base.csv > out.json
	expect_eq "$(json_get comparisons.0.drift.new_columns.0 < out.json)" m
'
check 'new categories against a base whose top values are not all its values' '
	xtrk profile --json many.csv > p.json
	expect_eq "$(json_get datasets.0.profile.columns.0.top_complete < p.json)" false
	# a frequent new value is surely new: flagged
	expect_exit 3 xtrk drift --json many.csv many_z.csv > out.json
	expect_eq "$(over < out.json)" "cat:new_categories"
	expect_eq "$(json_get comparisons.0.drift.columns.0.new_categories.0 < out.json)" z
	# the same mix, its rare values the base did not keep: not flagged
	xtrk drift --json many.csv many_same.csv > out.json
	expect_eq "$(json_get comparisons.0.drift.columns.0.new_categories < out.json)" "[]"
	# one rare new value cannot be told from those the base did not keep: not flagged
	xtrk drift many.csv many_once.csv
	# a value the base had too rarely to keep, as rare here: not flagged
	xtrk drift --json many.csv few.csv > out.json
	expect_eq "$(json_get comparisons.0.drift.columns.0.new_categories < out.json)" "[]"
	# ...but against a base that kept every value, a value it lacks is new
	expect_exit 3 xtrk drift --json few.csv many_z.csv > out.json
	expect_eq "$(json_get comparisons.0.drift.columns.0.new_categories.0 < out.json)" z
'
check 'usage errors: exit 2' '
	expect_exit 2 xtrk drift
	expect_exit 2 xtrk drift base.csv
	echo hi > notes.txt
	expect_exit 2 xtrk drift base.csv notes.txt
	expect_exit 1 xtrk drift no-such-run base.csv
'
finish
