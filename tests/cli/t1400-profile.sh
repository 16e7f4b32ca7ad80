#!/bin/sh
# xtrk profile: the profiles commit-run records for tabular datasets, their problems named by
# line, leakage between training and evaluation data, the memory bound, and what keeps them.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws

# train.csv: 3000 rows, 1 in 7 x missing (429 exactly), 1 in 11 cat "NA" (273 exactly);
# test.csv: 500 rows of its own and 37 rows copied from train.csv (leakage: 37 exactly).
python3 - <<'EOF'
import random
r = random.Random(1400)
rows = []
for i in range(3000):
    x = "" if i % 7 == 0 else "%.6f" % r.gauss(0, 1)
    c = "NA" if i % 11 == 0 else r.choice(["red", "green", "blue"])
    rows.append("%d,%s,%s" % (i, x, c))
with open("train.csv", "w") as f:
    f.write("id,x,cat\n" + "\n".join(rows) + "\n")
test = ["%d,%.6f,red" % (100000 + i, r.gauss(0, 1)) for i in range(500)]
for k, j in enumerate(r.sample(range(1, 3000), 37)):
    test.insert(k * 13, rows[j])
with open("test.csv", "w") as f:
    f.write("id,x,cat\n" + "\n".join(test) + "\n")
EOF

cat > "$TRASH/npy_expect.py" <<'EOF'
import json, math, sys
expect = json.load(open(sys.argv[1]))
got = {d["name"]: d["profile"] for d in json.load(open(sys.argv[2]))["datasets"]}
assert set(got) == set(expect), sorted(set(expect) ^ set(got))
for name, e in expect.items():
    p = got[name]
    assert p["kind"] == "npy", name
    assert p["rows"] == e["rows"], (name, p["rows"])
    if "columns_total" in e:
        assert p["columns_total"] == e["columns_total"], (name, p["columns_total"])
    if "ncolumns" in e:
        assert len(p["columns"]) == e["ncolumns"], (name, len(p["columns"]))
    assert ("fingerprints" in p) == e.get("fingerprints", True), name
    for i, ec in enumerate(e.get("columns", [])):
        c = p["columns"][i]
        for k, v in ec.items():
            ok = c.get(k) == v if isinstance(v, str) else math.isclose(c.get(k, math.nan), v, abs_tol=1e-9)
            assert ok, (name, i, k, c.get(k), v)
print(len(expect), "files as expected")
EOF

check 'commit-run profiles .csv datasets and names each profile in the record' '
	id=$(xtrk commit-run -d train=train.csv -d test=test.csv)
	echo $id > "$TRASH/run1"
	j=$(xtrk show --json $id)
	p=$(echo "$j" | json_get datasets.0.profile)
	echo "$p" | grep -Eqx "[0-9a-f]{32}"
	expect_eq "$(xtrk cat-object -t $p)" blob
	xtrk show $id | grep "profile: 3000 rows, 3 columns, 702 missing values" >/dev/null
	xtrk fsck
'
check 'missing values are counted exactly, per column' '
	j=$(xtrk profile --json $(cat "$TRASH/run1"))
	expect_eq "$(echo "$j" | json_get datasets.0.profile.rows)" 3000
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.1.missing)" 429
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.1.count)" 2571
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.1.type)" number
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.2.missing)" 273
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.2.type)" string
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.2.distinct)" 3
	expect_eq "$(echo "$j" | json_get datasets.1.profile.rows)" 537
'
check 'leakage: the rows test shares with train are counted exactly, with examples' '
	j=$(xtrk profile --json $(cat "$TRASH/run1"))
	expect_eq "$(echo "$j" | json_get leakage.0.train)" train
	expect_eq "$(echo "$j" | json_get leakage.0.eval)" test
	expect_eq "$(echo "$j" | json_get leakage.0.shared)" 37
	expect_eq "$(echo "$j" | json_get leakage.0.exact)" true
	# An example names the lines of one shared row in both files.
	tl=$(echo "$j" | json_get leakage.0.examples.0.train_line)
	el=$(echo "$j" | json_get leakage.0.examples.0.eval_line)
	expect_eq "$(sed -n ${tl}p train.csv)" "$(sed -n ${el}p test.csv)"
	xtrk profile $(cat "$TRASH/run1") | grep "leakage: train and test share 37 rows" >/dev/null
'
check 'which datasets are training and evaluation data is configurable' '
	xtrk profile --json train.csv test.csv | json_get leakage.0.shared | grep -x 37 >/dev/null
	cp train.csv fit.csv && cp test.csv holdout.csv
	id=$(xtrk commit-run -d fit=fit.csv -d holdout=holdout.csv)
	expect_eq "$(xtrk profile --json $id | json_get leakage)" "[]"
	git config -f .xtrk/config leakage.train "fit*"
	git config -f .xtrk/config leakage.eval "hold*"
	expect_eq "$(xtrk profile --json $id | json_get leakage.0.shared)" 37
	git config -f .xtrk/config --unset leakage.train
	git config -f .xtrk/config --unset leakage.eval
'
check 'malformed CSV: each problem named by its line, and the run still recorded' '
	printf "a,b\n1,2\n3\n4,5\n" > ragged.csv
	printf "a,b\n1,2\n3,4\n\"x\"y,5\n6,7\n" > quote.csv
	printf "a,b\n1,2\n\"open,3\n4,5\n" > unclosed.csv
	printf "a,b\n1,2\n3,4\n5,\000\377junk\n6,7\n" > junk.csv
	id=$(xtrk commit-run -d ragged.csv -d quote.csv -d unclosed.csv -d junk.csv 2>err)
	cat err
	grep "ragged.csv: line 3: 1 fields where the header has 2" err >/dev/null
	grep "quote.csv: line 4: " err >/dev/null
	grep "unclosed.csv: line 3: " err >/dev/null
	grep "junk.csv: line 4: binary data" err >/dev/null
	expect_eq "$(xtrk show --json $id | json_get status)" succeeded
	j=$(xtrk profile --json $id)
	expect_eq "$(echo "$j" | json_get datasets.0.profile.rows)" 2
	expect_eq "$(echo "$j" | json_get datasets.0.profile.ragged_rows)" 1
	expect_eq "$(echo "$j" | json_get datasets.1.profile.complete)" false
	expect_eq "$(echo "$j" | json_get datasets.1.profile.rows)" 2
	expect_eq "$(echo "$j" | json_get datasets.3.profile.rows)" 2
	xtrk show $id | grep "problem" >/dev/null
'
check 'JSON Lines and TSV: lines that are no JSON object named, keys missing counted' '
	printf "{\"a\":1,\"b\":\"x\"}\n{\"a\":null}\nnot json\n[1]\n{\"a\":2,\"c\":true}\n" > t.jsonl
	printf "a\tb\n1\tx\n\tNA\n3\tz\n" > t.tsv
	id=$(xtrk commit-run -d t.jsonl -d t.tsv 2>err)
	grep "t.jsonl: line 3: not JSON" err >/dev/null
	grep "t.jsonl: line 4: not a JSON object" err >/dev/null
	j=$(xtrk profile --json $id)
	expect_eq "$(echo "$j" | json_get datasets.0.profile.rows)" 3
	expect_eq "$(echo "$j" | json_get datasets.0.profile.bad_lines)" 2
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.0.missing)" 1
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.1.missing)" 2
	expect_eq "$(echo "$j" | json_get datasets.0.profile.columns.2.missing)" 2
	expect_eq "$(echo "$j" | json_get datasets.1.profile.columns.0.missing)" 1
	expect_eq "$(echo "$j" | json_get datasets.1.profile.columns.1.missing)" 1
'
check '[profile] enabled and maxBytes decide what is profiled' '
	git config -f .xtrk/config profile.maxBytes 1k
	id=$(xtrk commit-run -d train.csv -d ragged.csv 2>/dev/null)
	xtrk show --json $id | python3 -c "import json,sys; assert \"profile\" not in json.load(sys.stdin)[\"datasets\"][0]"
	xtrk show --json $id | json_get datasets.1.profile | grep -Eqx "[0-9a-f]{32}"
	git config -f .xtrk/config profile.maxBytes 10M
	git config -f .xtrk/config profile.enabled false
	id=$(xtrk commit-run -d train.csv)
	xtrk show --json $id | python3 -c "import json,sys; assert \"profile\" not in json.load(sys.stdin)[\"datasets\"][0]"
	git config -f .xtrk/config --unset profile.enabled
'
check 'profiles are kept by gc and travel in bundles' '
	id=$(cat "$TRASH/run1")
	xtrk gc --prune=now >/dev/null
	xtrk profile --json $id | json_get leakage.0.shared | grep -x 37 >/dev/null
	xtrk bundle create -o "$TRASH/b.tar" $id 2>/dev/null
	rm -rf "$TRASH/other" && mkdir "$TRASH/other"
	(cd "$TRASH/other" && new_ws && xtrk bundle import "$TRASH/b.tar" >/dev/null 2>&1 && xtrk fsck >/dev/null &&
		xtrk profile --json $id | json_get leakage.0.shared | grep -x 37 >/dev/null)
'
check 'hostile profiles: not a profile, a malformed sketch, malformed fingerprints' '
	id=$(cat "$TRASH/run1")
	printf "{\"format\":1,\"rows\":\"x\"}" > notprof.json
	printf "{\"format\":1,\"rows\":1,\"columns\":[{\"name\":\"x\",\"type\":\"number\",\"sketch\":{\"k\":8,\"n\":1,\"levels\":[[\"a\"]]},\"histogram\":{\"edges\":\"zz\"}}],\"fingerprints\":{\"hashes\":\"zzzzzzzzzzzzzzzzq\",\"threshold\":\"ffffffffffffffff\",\"lines\":5}}" > badsketch.json
	printf "{\"format\":1,\"rows\":1,\"columns\":[{\"name\":\"x\",\"type\":\"number\",\"sketch\":{\"k\":8,\"n\":1,\"levels\":[[1.5]]},\"histogram\":{\"edges\":[0,1,2]}}],\"fingerprints\":{\"hashes\":\"00000000000000010000000000000002\",\"threshold\":\"ffffffffffffffff\",\"lines\":[]}}" > badfp.json
	for f in notprof badsketch badfp; do
		b=$(xtrk hash-object -w $f.json)
		xtrk show --json $id | python3 -c "import json,sys; r=json.load(sys.stdin); r[\"datasets\"][1][\"profile\"]=\"$b\"; [r.pop(k, None) for k in (\"id\", \"tags\")]; print(json.dumps(r))" > rec.json
		r=$(xtrk hash-object -t run -w rec.json)
		xtrk profile --json $r > out.json 2>err || { cat err; false; }
		[ $f != notprof ] || grep "is not a profile xtrk reads" err >/dev/null
		xtrk drift --json $id $r > /dev/null 2>>err || [ $? -eq 3 ]
		xtrk drift --json $r $id > /dev/null 2>>err || [ $? -eq 3 ]
		! grep -i "sanitizer\|runtime error" err
	done
'
check 'memory stays bounded: 200 MB of CSV profiled in under 64 MiB' '
	if ldd "$XTRK_BIN" | grep libasan >/dev/null; then skip "a sanitizer build uses memory of its own"; fi
	awk "BEGIN{srand(3); print \"a,b,c,d,e,f\"; for(i=0;i<6200000;i++) printf \"%d,%.6f,%s,%d,x%d,%d\\n\", i, rand(), substr(\"abcdefghij\",i%10+1,1), i%7, i, i*3}" > "$TRASH/big.csv"
	sz=$(stat -c %s "$TRASH/big.csv")
	[ "$sz" -gt 200000000 ]
	kb=$(/usr/bin/time -f %M "$XTRK_BIN" profile --json "$TRASH/big.csv" 2>&1 >"$TRASH/big.json" | tail -1)
	rm -f "$TRASH/big.csv"
	echo "peak $kb KiB"
	[ "$kb" -lt 65536 ]
	expect_eq "$(json_get datasets.0.profile.rows < "$TRASH/big.json")" 6200000
'
check '.npy: every numeric dtype in both byte orders, NaN missing, 2-D by column, Fortran order' '
	python3 "$XTRK_TEST_SRCDIR/tests/helpers/mknpy.py" good npy
	xtrk profile --json npy/*.npy > npy.json 2>err
	python3 "$TRASH/npy_expect.py" npy/expect.json npy.json
	grep "f2d.npy: header: Fortran order: the columns are profiled, the rows not fingerprinted" err >/dev/null
	[ $(grep -c "warning" err) -eq 1 ]
	xtrk profile npy/c2d.npy | grep "5 rows, 3 columns, 0 missing values" >/dev/null
'
check '.npy: hostile headers refused, each with a warning naming its problem, the run still recorded' '
	python3 "$XTRK_TEST_SRCDIR/tests/helpers/mknpy.py" hostile bad
	n=0
	for f in bad/*.npy; do
		want=$(python3 -c "import json,sys; print(json.load(open(\"bad/expect.json\"))[sys.argv[1]])" ${f#bad/})
		xtrk profile --json $f > out.json 2>err || { cat err; false; }
		grep -F "${f}: header: " err | grep -F "$want" >/dev/null || { echo "$f: want: $want"; cat err; false; }
		expect_eq "$(json_get datasets.0.profile.complete < out.json)" false
		expect_eq "$(json_get datasets.0.profile.columns < out.json)" "[]"
		! grep -i "sanitizer\|runtime error" err
		n=$((n + 1))
	done
	[ $n -eq 31 ]
	id=$(xtrk commit-run $(for f in bad/*.npy; do printf -- "-d %s " $f; done) 2>err)
	expect_eq "$(xtrk show --json $id | json_get status)" succeeded
	grep "negative.npy: header: the shape has a negative size; not profiled" err >/dev/null
	xtrk show $id | grep "problem" >/dev/null
	xtrk fsck
'
check '.npy: rows shared by training and evaluation arrays are leakage, counted exactly' '
	python3 "$XTRK_TEST_SRCDIR/tests/helpers/mknpy.py" leak leak
	id=$(xtrk commit-run -d train=leak/train.npy -d test=leak/test.npy)
	j=$(xtrk profile --json $id)
	expect_eq "$(echo "$j" | json_get leakage.0.shared)" 7
	expect_eq "$(echo "$j" | json_get leakage.0.exact)" true
	expect_eq "$(echo "$j" | json_get datasets.1.profile.dtype)" ">f4"
	expect_eq "$(echo "$j" | json_get datasets.1.profile.shape)" "[57, 3]"
	# the examples: row k of test (line 51 + k) is row 13 k of train
	el=$(echo "$j" | json_get leakage.0.examples.0.eval_line)
	tl=$(echo "$j" | json_get leakage.0.examples.0.train_line)
	[ $el -ge 51 ] && [ $el -le 57 ] && [ $((tl - 1)) -eq $(( (el - 51) * 13 )) ]
	expect_exit 3 xtrk drift leak/train.npy leak/test.npy
	xtrk drift leak/train.npy leak/train.npy
'
check 'exit codes: usage 2, a file that is no table 2, an unknown run 1' '
	expect_exit 2 xtrk profile
	expect_exit 2 xtrk profile --bogus x
	echo hi > notes.txt
	expect_exit 2 xtrk profile notes.txt
	expect_exit 1 xtrk profile no-such-run
	expect_exit 2 xtrk profile train.csv $(cat "$TRASH/run1")
'
finish
