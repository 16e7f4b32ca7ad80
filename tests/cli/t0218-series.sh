#!/bin/sh
# xtrk series: a run's step series as a table, CSV or JSON, with a chart of one metric across runs;
# runs without a series, hostile series (malformed lines, huge lines and steps, too many metrics)
# and damaged or missing series blobs are clear errors naming the run.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
# Out of step order, two lines for step 20 (loss and acc logged apart), step 30 without acc and
# its loss given twice (the later one counts).
cat > a.jsonl <<'EOF'
{"step": 10, "loss": 1.5, "acc": 0.25}
{"step": 0, "loss": 2, "acc": 0.125}
{"step": 20, "loss": 1}

{"step": 20, "acc": 0.5}
{"step": 30, "loss": 9}
{"step": 30, "loss": 0.75}
EOF
printf '{"step": 0, "loss": 3}\n{"step": 15, "loss": 0.5}\n' > b.jsonl
a=$(xtrk commit-run -e exp -M a.jsonl --tag base)
b=$(xtrk commit-run -e exp -M b.jsonl)
sa=$(echo $a | cut -c1-12)
sb=$(echo $b | cut -c1-12)

check "one run: a row per step in step order, lines of a step merged, a missing value blank" '
	xtrk series base > out
	expect_eq "$(sed -n 1p out | tr -s " ")" "step loss acc"
	expect_eq "$(sed -n 2p out | tr -s " ")" "0 2 0.125"
	expect_eq "$(sed -n 3p out | tr -s " ")" "10 1.5 0.25"
	expect_eq "$(sed -n 4p out | tr -s " ")" "20 1 0.5"
	expect_eq "$(sed -n 5p out | tr -s " ")" "30 0.75"
	expect_eq "$(wc -l < out)" 5
	# piped: no chart unless asked
	expect_not_contains "$(cat out)" "┤"
'
check "several runs: columns per run (the metrics it logged) under a line naming them by short ID and tags" '
	xtrk series $a $b > out
	expect_eq "$(sed -n 1p out | tr -s " ")" " $sa (base) $sb"
	expect_eq "$(sed -n 2p out | tr -s " ")" "step loss acc loss"
	expect_eq "$(sed -n 3p out | tr -s " ")" "0 2 0.125 3"
	expect_eq "$(sed -n 5p out | tr -s " ")" "15 0.5"
	# the columns line up: each value ends where its name ends
	python3 - <<PY
lines = open("out").read().splitlines()
head = lines[1]
ends = [head.index(w, i) + len(w) for w, i in (("loss", 0), ("acc", 0), ("loss", head.index("acc")))]
row = lines[2]
assert [row.index(v) + len(v) for v in ("2", "0.125", "3")] == ends, (head, row)
PY
'
check "--metric picks metrics; one no run logged is exit 2 listing the ones they did" '
	expect_eq "$(xtrk series -m acc base | tr -s " " | tr "\n" "|")" "step acc|0 0.125|10 0.25|20 0.5|"
	expect_eq "$(xtrk series --metric acc --metric loss base | sed -n 1p | tr -s " ")" "step acc loss"
	set +e; xtrk series -m accuracy base > out 2> err; rc=$?; set -e
	expect_eq $rc 2
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "accuracy"
	expect_contains "$(cat err)" "loss, acc"
'
check "CSV: run,step,metrics, one row per run and step, full IDs" '
	xtrk series --format csv $a $b > out
	expect_eq "$(sed -n 1p out)" "run,step,loss,acc"
	expect_eq "$(sed -n 2p out)" "$a,0,2,0.125"
	expect_eq "$(sed -n 5p out)" "$a,30,0.75,"
	expect_eq "$(sed -n 7p out)" "$b,15,0.5,"
	expect_eq "$(wc -l < out)" 7
	# a step where none of the metrics shown has a value is left out
	expect_eq "$(xtrk series --format csv -m acc $a | tail -n 1)" "$a,20,0.5"
'
check "JSON: {runs: [{id, experiment, tags, metrics, series: [{step, K: V}]}]}" '
	xtrk series --format json $a $b > out.json
	python3 - <<PY
import json
d = json.load(open("out.json"))
assert list(d) == ["runs"], d
r0, r1 = d["runs"]
assert r0["id"] == "$a" and r0["experiment"] == "exp" and r0["tags"] == ["base"], r0
assert r0["metrics"] == ["loss", "acc"], r0
assert r0["series"] == [{"step": 0, "loss": 2, "acc": 0.125}, {"step": 10, "loss": 1.5, "acc": 0.25},
                        {"step": 20, "loss": 1, "acc": 0.5}, {"step": 30, "loss": 0.75}], r0["series"]
assert r1["metrics"] == ["loss"] and r1["series"][1] == {"step": 15, "loss": 0.5}, r1
PY
	expect_eq "$(xtrk series --format json -m acc $a $b | json_get runs.1.series)" "[]"
	expect_eq "$(xtrk series --format json -m acc $a $b | json_get runs.1.metrics)" "[]"
'
check "--chart: the first common metric over the steps, a glyph per run, y labels, step range, legend" '
	xtrk series --chart $a $b > out
	expect_contains "$(cat out)" "loss (one of 2 metrics; --metric picks another)"
	expect_contains "$(cat out)" "  ● $sa (base)"
	expect_contains "$(cat out)" "  ○ $sb"
	grep "^ *3 ┤" out >/dev/null        # the highest value labels the top row
	grep "^ *0.5 ┤" out >/dev/null      # the lowest the bottom one
	grep "└─" out >/dev/null
	grep "^ *0  *30  step$" out >/dev/null
	expect_eq "$(grep -c "┤\|│" out)" 10
	# 4 points of a and 2 of b, plus their legend lines
	expect_eq "$(grep -o "●" out | wc -l)" 5
	expect_eq "$(grep -o "○" out | wc -l)" 3
	xtrk series --chart -m acc $a > out
	expect_contains "$(sed -n "/^acc$/,\$p" out)" "0.5 ┤"
'
check "chart: a metric only some runs have is drawn for those; a single point and a constant are drawn" '
	xtrk series --chart -m acc $a $b > out
	expect_contains "$(cat out)" "  ○ $sb (no points)"
	printf "{\"step\": 7, \"x\": 42}\n" > one.jsonl
	printf "{\"step\": 1, \"x\": 5}\n{\"step\": 2, \"x\": 5}\n{\"step\": 3, \"x\": 5}\n" > flat.jsonl
	one=$(xtrk commit-run -e one -M one.jsonl); flat=$(xtrk commit-run -e flat -M flat.jsonl)
	xtrk series --chart $one > out
	expect_eq "$(grep -c "42 ┤" out)" 1
	grep "^ *7  step$" out >/dev/null
	xtrk series --chart $flat > out
	expect_eq "$(grep -c "5 ┤●" out)" 1
	expect_eq "$(grep -o "●" out | wc -l)" 4
'
check "the chart is drawn on a terminal by default; --no-chart and csv leave it out" '
	command -v script >/dev/null || skip "no script(1) to make a terminal"
	COLUMNS=100 script -qec "$XTRK_BIN series $a" /dev/null > tty.out
	grep "┤" tty.out >/dev/null
	COLUMNS=100 script -qec "$XTRK_BIN series --no-chart $a" /dev/null > tty.out
	! grep "┤" tty.out >/dev/null
	COLUMNS=100 script -qec "$XTRK_BIN series --format csv $a" /dev/null > tty.out
	! grep "┤" tty.out >/dev/null
'
check "bash completion: the command, its options, its formats and run names" '
	. "$XTRK_TEST_SRCDIR/contrib/completion/xtrk.bash"
	PATH=$(dirname "$XTRK_BIN"):$PATH
	COMP_WORDS=(xtrk se); COMP_CWORD=1; _xtrk xtrk || :
	expect_contains "${COMPREPLY[*]}" series
	COMP_WORDS=(xtrk series --); COMP_CWORD=2; _xtrk xtrk || :
	expect_contains "${COMPREPLY[*]}" --no-chart
	expect_contains "${COMPREPLY[*]}" --metric
	COMP_WORDS=(xtrk series --format ""); COMP_CWORD=3; _xtrk xtrk || :
	expect_eq "${COMPREPLY[*]}" "table csv json"
	COMP_WORDS=(xtrk series ba); COMP_CWORD=2; _xtrk xtrk || :
	expect_contains "${COMPREPLY[*]}" base
'
check "usage errors" '
	expect_exit 2 xtrk series
	expect_exit 2 xtrk series --chart --no-chart $a
	expect_exit 2 xtrk series --chart --format csv $a
	expect_exit 2 xtrk series --format xml $a
	expect_exit 2 xtrk series --bogus $a
	expect_exit 2 xtrk series -m "" $a
	expect_exit 1 xtrk series nosuchrun
'
check "a run without a series: alone an error naming it (exit 1); among others named and left out" '
	none=$(xtrk commit-run -e none --metric acc=1)
	set +e; xtrk series $none > out 2> err; rc=$?; set -e
	expect_eq $rc 1
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "run $none has no step series"
	xtrk series $a $none > out 2> err
	expect_contains "$(cat err)" "warning: run $none has no step series"
	expect_eq "$(sed -n 1p out | tr -s " ")" "step loss acc"
	set +e; xtrk series $none none~0 > out 2> err; rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat err)" "no step series"
'

# Hostile series, recorded the way `xtrk run` keeps whatever the program wrote (malformed lines are
# skipped with a warning when recording, but the file is kept as it was).
recorded() { # recorded NAME FILE: a run whose series is FILE, byte for byte
	cp "$2" series.in
	xtrk run -q -e "$1" -- sh -c "cp series.in \"\$XTRK_RUN_DIR/metrics.jsonl\"" >/dev/null 2>&1
	xtrk show --json "$1" | json_get id
}
cat > mixed.jsonl <<'EOF'
{"step": 0, "loss": 1}
{"step": 1, "loss": "high"}
{"step": -1, "loss": 1}
{"step": 99999999999999999999, "loss": 1}
{"step": 2, "loss": 1e999}
{"step": 3, "loss": 1, "loss": 2}
not json at all
[1, 2, 3]
{"loss": 4}
{"step": 4, "loss": NaN}
{"step": 9223372036854775807, "loss": 0.5}
{"step": 5, "loss": 0.25
EOF

check "malformed lines are left out with one warning naming the run and the first one; the rest is shown" '
	mixed=$(recorded mixed mixed.jsonl)
	xtrk series --chart $mixed > out 2> err
	expect_contains "$(cat err)" "run $mixed: 10 malformed lines of its step series left out (first: line 2:"
	expect_eq "$(sed -n 2p out | tr -s " ")" "0 1"
	expect_eq "$(sed -n 3p out | tr -s " ")" "9223372036854775807 0.5"
	expect_eq "$(sed -n 4p out)" ""
	grep "0  *9223372036854775807  step" out >/dev/null
	expect_eq "$(xtrk series --format json $mixed 2>/dev/null | json_get runs.0.series.1.step)" 9223372036854775807
'
check "a series with no valid line, a line over 1 MiB, or over 1024 metrics is refused naming the run" '
	printf "garbage\n{\"step\": \"x\"}\n" > junk.jsonl
	junk=$(recorded junk junk.jsonl)
	set +e; xtrk series $junk > out 2> err; rc=$?; set -e
	expect_eq $rc 1
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "run $junk: step series: no valid line (line 1:"
	python3 -c "print(\"{\\\"step\\\": 1, \\\"x\\\": 1}\"); print(\"{\\\"step\\\": 2, \\\"pad\\\": \\\"\" + \"a\" * 1100000 + \"\\\"}\")" > long.jsonl
	long=$(recorded long long.jsonl)
	set +e; xtrk series $long > out 2> err; rc=$?; set -e
	expect_eq $rc 1
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "run $long: step series: line 2 is longer than"
	python3 -c "
import json
print(json.dumps(dict([(\"step\", 0)] + [(\"m%d\" % i, i) for i in range(1100)])))" > wide.jsonl
	wide=$(recorded wide wide.jsonl)
	set +e; xtrk series $wide > out 2> err; rc=$?; set -e
	expect_eq $rc 1
	expect_contains "$(cat err)" "run $wide: step series: more than 1024 metrics"
	# one bad run among good ones is an error too: damage is never skipped quietly
	expect_exit 1 xtrk series $a $junk
'
# A series big enough to be stored as its own (loose) object, to damage and remove.
python3 -c "
for i in range(60000): print('{\"step\": %d, \"loss\": %r}' % (i, 1.0 / (i + 1)))" > big.jsonl
big=$(xtrk commit-run -e big -M big.jsonl 2>/dev/null)
bigser=$(xtrk show --json $big | json_get series)
loose=.xtrk/objects/$(echo $bigser | cut -c1-2)/$(echo $bigser | cut -c3-)
check "a big series comes back whole" '
	test -f $loose
	expect_eq "$(xtrk series --format csv $big | wc -l)" 60001
	expect_eq "$(xtrk series --format csv $big | tail -n 1)" "$big,59999,1.6666666666666667e-5"
'
check "a series read once is kept (.xtrk/cache/series): the same again; a damaged or foreign copy is ignored and made again" '
	rm -rf .xtrk/cache/series
	xtrk series --format csv $big > first
	c=.xtrk/cache/series/$bigser
	test -f $c
	xtrk series --format csv $big > second
	cmp first second
	# damaged: a byte of a step, of a value, of the checksum, of the byte order; cut short, emptied,
	# a folder, a link
	size=$(stat -c %s $c)
	for how in mid val sum order cut empty dir link; do
		cp $c good
		case $how in
		mid) flip_byte $c $((size / 2)) ;;
		val) flip_byte $c $((size - 16 - 44)) ;;
		sum) flip_byte $c $((size - 1)) ;;
		order) flip_byte $c 9 ;;
		cut) head -c $((size - 100)) good > $c ;;
		empty) : > $c ;;
		dir) rm $c && mkdir $c ;;
		link) rm $c && ln -s "$TRASH/good" $c ;;
		esac
		xtrk series --format csv $big > again 2> err || { echo "# $how: failed"; cat err; false; }
		cmp first again || { echo "# $how: differs"; false; }
		expect_eq "$(cat err)" ""
		if [ $how = dir ]; then rmdir $c; fi
		rm -f $c
		cp good $c
	done
	# the copy of another series under this name: its checksum holds, but it is not this series
	xtrk series --format csv $a > /dev/null
	aser=$(xtrk show --json $a | json_get series)
	cp .xtrk/cache/series/$aser $c
	xtrk series --format csv $big > foreign 2>/dev/null
	cmp first foreign
'
check "a damaged series is an error naming it, and nothing of it is printed" '
	rm -rf .xtrk/cache/series
	cp -p $loose saved && chmod u+w $loose
	flip_byte $loose $(( $(stat -c %s $loose) / 2 ))
	set +e; xtrk series $big > out 2> err; rc=$?; set -e
	cp saved $loose
	expect_eq $rc 1
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "$bigser"
'
check "gc removes the kept series of blobs the store no longer holds, and keeps the others" '
	xtrk series $big > /dev/null
	: > .xtrk/cache/series/0123456789abcdef0123456789abcdef
	: > .xtrk/cache/series/$bigser.tmp-abcdef
	xtrk gc > /dev/null 2>&1
	test -f .xtrk/cache/series/$bigser
	test ! -e .xtrk/cache/series/0123456789abcdef0123456789abcdef
	test ! -e .xtrk/cache/series/$bigser.tmp-abcdef
'
check "a series missing from the store is named, with the run" '
	mv $loose saved-missing
	set +e; xtrk series $big > out 2> err; rc=$?; xtrk series $a $big > out2 2> err2; rc2=$?; set -e
	mv saved-missing $loose
	expect_eq $rc 1
	expect_eq "$(wc -c < out)" 0
	expect_contains "$(cat err)" "run $big: its step series $bigser is not in this store"
	expect_eq $rc2 1
	expect_eq "$(wc -c < out2)" 0
'
finish
