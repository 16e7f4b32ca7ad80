#!/bin/sh
# xtrk retain and gc --retain: each [retain] rule of the config (last, best, failedDays, tagged,
# noted, staged), how they combine, per-experiment sections, runs listed in two experiments,
# --dry-run changing nothing, bad rules refused before anything changes, and a 1,000-run store
# (built from one crafted bundle) losing exactly the runs the rules, computed independently, let go.
. "$(dirname "$0")/lib.sh"

MKRUNSET="$XTRK_TEST_SRCDIR/tests/helpers/mkrunset.py"
new_ws
xtrk commit-run -q -e t -m template > template.id
xtrk bundle create -o "$TRASH/good.tar" "$(cat template.id)" >/dev/null

# Python for the specs: ago(DAYS) is a time DAYS days before now, as records hold times.
PYHEAD='import datetime, json
def ago(days, secs=0):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days, seconds=secs)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
def run(exp, msg, days, **kw):
    r = {"experiment": exp, "message": msg, "started": ago(days, 60), "ended": ago(days), "status": "succeeded",
         "metrics": {}, "notes": []}
    r.update(kw)
    return r
'
# mkstore DIR PYTHON-LIST: a fresh workspace DIR holding the crafted runs of the list (run(...) items);
# DIR/ids gets their IDs, one a line, in the list's order.
mkstore() {
	mkdir "$1" && (cd "$1" && new_ws >/dev/null && python3 -c "$PYHEAD
json.dump($2, open('spec.json', 'w'))" && python3 "$MKRUNSET" "$TRASH/good.tar" spec.json runs.tar > ids &&
		xtrk bundle import runs.tar >/dev/null && rm -f spec.json runs.tar)
}
# ids N...: the IDs of entries N... of the list (0-based), sorted.
ids() { for n in "$@"; do sed -n "$((n + 1))p" ids; done | sort; }
# planned: the IDs `retain --dry-run` lists, sorted; removed: the IDs `rm --list` lists, sorted.
planned() { xtrk retain -n --json | python3 -c 'import json,sys; print("\n".join(sorted(i["id"] for i in json.load(sys.stdin)["items"])))'; }
removed() { xtrk rm --list | cut -d" " -f1 | sort; }
listing() { store_listing .; }
rules() { git config -f .xtrk/config "$@"; }

check 'no [retain] rules: nothing is a candidate, nothing moves' '
	mkstore none "[run(\"a\", \"r%d\" % i, 100 + i, status=\"failed\") for i in range(4)]"
	cd none
	before=$(listing)
	out=$(xtrk retain); echo "$out"
	expect_contains "$out" "no retention rules"
	expect_eq "$(removed)" ""
	expect_eq "$(xtrk log | wc -l)" 5
	expect_eq "$(listing)" "$before"
'

check 'last = N: the N newest of each experiment stay, the older go (with why); --dry-run changes nothing' '
	mkstore last "[run(\"a\", \"a%d\" % i, i) for i in range(5)] + [run(\"b\", \"b%d\" % i, i) for i in range(2)]"
	cd last
	rules retain.last 3
	before=$(listing)
	out=$(xtrk retain --dry-run); echo "$out"
	expect_contains "$out" "would remove $(ids 3)  a  last: beyond the last 3 runs of '\''a'\'' (it is the 4th newest)"
	expect_contains "$out" "not kept: last: not one of the last 3 (it is the 4th newest); tagged: no tag names it; noted: it has no notes; staged: no stage holds it"
	expect_contains "$out" "would remove 2 of 7 runs"
	expect_eq "$(planned)" "$(ids 3 4)"
	expect_eq "$(listing)" "$before"
	expect_eq "$(removed)" ""
	xtrk retain
	expect_eq "$(removed)" "$(ids 3 4)"
	expect_eq "$(xtrk log | wc -l)" 6
	expect_eq "$(planned)" ""
	xtrk rm --restore $(ids 3) >/dev/null
	expect_eq "$(planned)" "$(ids 3)"
'

check 'failedDays = D: a failed run older than D days goes; a younger one and a succeeded one stay' '
	mkstore failed "[run(\"a\", \"old-failed\", 10, status=\"failed\"), run(\"a\", \"young-failed\", 2, status=\"failed\"),
		run(\"a\", \"old-ok\", 30)]"
	cd failed
	rules retain.failedDays 5
	out=$(xtrk retain -n); echo "$out"
	expect_contains "$out" "failedDays: failed 10 days ago (failedDays = 5)"
	expect_eq "$(planned)" "$(ids 0)"
	rules retain.failedDays 0
	expect_eq "$(planned)" "$(ids 0 1)"
	rules retain.failedDays 11
	expect_eq "$(planned)" ""
	rules retain.failedDays 5
	xtrk retain >/dev/null
	expect_eq "$(removed)" "$(ids 0)"
'

check 'keep rules win: tagged, noted (record and appended notes), last over failedDays' '
	mkstore keep "[run(\"a\", \"new\", 1), run(\"a\", \"tagged\", 20, tags=[\"keepme\"]), run(\"a\", \"noted\", 21, notes=[\"why\"]),
		run(\"a\", \"appended\", 22), run(\"a\", \"plain\", 23), run(\"b\", \"recent-failed\", 30, status=\"failed\")]"
	cd keep
	xtrk note $(ids 3) -m "keep this one" >/dev/null
	rules retain.last 1
	rules retain.failedDays 7
	expect_eq "$(planned)" "$(ids 4)"
	out=$(xtrk retain -n --json); echo "$out"
	expect_eq "$(echo "$out" | json_get kept_by_rule)" 4
	rules retain.tagged false
	expect_eq "$(planned)" "$(ids 1 4)"
	rules retain.tagged true; rules retain.noted false
	expect_eq "$(planned)" "$(ids 2 3 4)"
	rules retain.noted true; rules retain.staged false
	expect_eq "$(planned)" "$(ids 4)"
	# the failed run is the newest of b: last keeps it; with last off in b the failed rule removes it
	rules retain.b.last off
	expect_eq "$(planned)" "$(ids 4 5)"
	xtrk retain >/dev/null
	expect_eq "$(removed)" "$(ids 4 5)"
'

check 'staged: a run in a stage (any stage) is kept; staged = false lets it go' '
	mkstore st "[run(\"a\", \"new\", 1), run(\"a\", \"production\", 20), run(\"a\", \"plain\", 21)]"
	cd st
	xtrk stage $(ids 1) production -m "shipped" >/dev/null
	rules retain.last 1
	expect_eq "$(planned)" "$(ids 2)"
	expect_contains "$(xtrk retain -n 2>&1)" "staged: no stage holds it"
	rules retain.staged false
	expect_eq "$(planned)" "$(ids 1 2)"
	rules retain.staged true
	xtrk retain >/dev/null
	expect_eq "$(removed)" "$(ids 2)"
'
check 'best = N by a metric: max and min, ties to the newer, a run lacking it (or not a number) is never best' '
	mkstore best "[run(\"a\", \"newest\", 0, metrics={\"acc\": 0.1}), run(\"a\", \"hi\", 1, metrics={\"acc\": 0.9}),
		run(\"a\", \"lo\", 2, metrics={\"acc\": 0.2}), run(\"a\", \"mid-new\", 3, metrics={\"acc\": 0.5}),
		run(\"a\", \"mid-old\", 4, metrics={\"acc\": 0.5}), run(\"a\", \"none\", 5),
		run(\"a\", \"text\", 6, metrics={\"acc\": \"high\"}), run(\"a\", \"nested\", 7, metrics={\"val\": {\"acc\": 0.01}})]"
	cd best
	rules retain.last 1
	rules retain.best 2; rules retain.metric acc; rules retain.order max
	expect_eq "$(planned)" "$(ids 2 4 5 6 7)"
	out=$(xtrk retain -n); echo "$out"
	expect_contains "$out" "best: 4th by metrics.acc (max), not one of the best 2"
	expect_contains "$out" "best: it has no number metrics.acc"
	rules retain.order min
	expect_eq "$(planned)" "$(ids 1 3 4 5 6 7)"
	rules retain.best 3
	expect_eq "$(planned)" "$(ids 1 4 5 6 7)"
	rules retain.metric val.acc
	expect_eq "$(planned)" "$(ids 1 2 3 4 5 6)"
'

check 'per-experiment sections: [retain "EXP"] replaces the keys it sets, off cancels one, the rest is inherited' '
	mkstore perexp "[run(e, \"%s%d\" % (e, i), i, metrics={\"acc\": i}) for e in (\"a\", \"b\", \"c\") for i in range(4)]"
	cd perexp
	rules retain.last 3
	rules retain.b.last 1
	rules retain.c.last off
	expect_eq "$(planned)" "$(ids 3 5 6 7)"
	rules retain.best 1; rules retain.metric acc; rules retain.order max
	expect_eq "$(planned)" "$(ids 5 6)"
	rules retain.b.best off
	expect_eq "$(planned)" "$(ids 5 6 7)"
	rules retain.b.last 2
	rules retain.b.best 1
	expect_eq "$(planned)" "$(ids 6)"
	rules retain.b.order min
	expect_eq "$(planned)" "$(ids 6 7)"
'

check 'a run listed in two experiments goes only when it is a candidate in one and kept in none' '
	mkstore two "[run(\"a\", \"a-new\", 1), run(\"a\", \"shared\", 5), run(\"b\", \"b-old\", 8)]"
	cd two
	shared=$(ids 1)
	printf "%s\n" "$shared" > .xtrk/refs/experiments/b/$shared
	# a candidate in a (beyond the last 1), kept in b (its newest)
	rules retain.last 1
	expect_eq "$(planned)" "$(ids 2)"
	# kept nowhere: b keeps it no more
	rules retain.b.last off
	rules retain.b.failedDays 4
	expect_eq "$(planned)" "$shared"
	# a candidate in both
	rules retain.b.last 1
	printf "%s\n" "$(ids 0)" > .xtrk/refs/experiments/b/$(ids 0)
	expect_eq "$(planned)" "$(ids 1 2)"
	out=$(xtrk retain -n --json); echo "$out"
	expect_contains "$out" "beyond the last 1 runs of '\''a'\''"
	expect_contains "$out" "beyond the last 1 runs of '\''b'\''"
	xtrk retain >/dev/null
	expect_eq "$(removed)" "$(printf "%s\n" $shared $shared $(ids 2) | sort)"
	test ! -e .xtrk/refs/experiments/a/$shared
	test ! -e .xtrk/refs/experiments/b/$shared
'

check 'bad rules: a clear error naming the key, exit 2, nothing removed (retain and gc --retain)' '
	mkstore bad "[run(\"a\", \"r%d\" % i, i) for i in range(4)]"
	cd bad
	head -c 5000 /dev/urandom > junk; junk=$(xtrk hash-object -w junk)
	find .xtrk/objects -type f -exec touch -d "3 weeks ago" {} +
	cp .xtrk/config config.good
	before=$(listing)
	n=0
	while IFS="|" read -r key value want; do
		cp config.good .xtrk/config
		rules retain.last 1
		if [ -n "$value" ]; then rules "$key" "$value"; else printf "[retain]\n\t%s\n" "$key" >> .xtrk/config; fi
		for cmd in "retain" "retain -n" "retain --json" "gc --retain --prune=now"; do
			err=$(xtrk $cmd 2>&1 >/dev/null) && { echo "xtrk $cmd took $key=$value"; exit 1; } || st=$?
			expect_eq "$st" 2
			expect_contains "$err" "$want"
		done
		cp config.good .xtrk/config
		expect_eq "$(listing)" "$before"
		n=$((n + 1))
	done <<-CASES
	retain.lst|3|unknown key retain.lst
	retain.last|0|retain.last = '\''0'\''
	retain.last|-2|from 1 to 1000000000
	retain.last|abc|retain.last = '\''abc'\''
	retain.last|1.5|retain.last = '\''1.5'\''
	retain.last|+3|retain.last = '\''+3'\''
	retain.last|99999999999|from 1 to 1000000000
	retain.last|3x|retain.last = '\''3x'\''
	retain.best|2|best = 2 needs metric
	retain.faileddays|-1|retain.faileddays = '\''-1'\''
	retain.failedDays|100001|from 0 to 100000
	retain.order|up|give max (higher is better) or min
	retain.tagged|maybe|not a boolean
	retain.staged|2x|not a boolean
	retain.metric|a..b|not a metric'\''s name
	retain.a b.last|2|is not an experiment name
	retain.a.colour|red|unknown key retain.a.colour
	retain.a.best|1|needs metric
	faileddays =||has no value
	CASES
	expect_eq $n 19
	# best with a metric but no order
	cp config.good .xtrk/config; rules retain.best 1; rules retain.metric acc
	expect_exit 2 xtrk retain -n
	present=$(xtrk cat-object -t $junk)
	expect_eq "$present" blob
'

check 'gc --retain applies the rules then collects; plain gc never applies them; --dry-run changes nothing' '
	mkstore gcr "[run(\"a\", \"r%d\" % i, i) for i in range(5)]"
	cd gcr
	rules retain.last 1
	xtrk gc --prune=now >/dev/null
	expect_eq "$(removed)" ""
	expect_eq "$(xtrk log | wc -l)" 6
	before=$(listing)
	out=$(xtrk gc --retain --dry-run --prune=now); echo "$out"
	expect_contains "$out" "would remove $(ids 2)"
	expect_eq "$(listing)" "$before"
	out=$(xtrk gc --retain --json --prune=now); echo "$out"
	expect_eq "$(echo "$out" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"retain\"][\"removed\"])")" 4
	expect_eq "$(removed)" "$(ids 1 2 3 4)"
	for id in $(ids 1 2 3 4); do xtrk cat-object -t $id >/dev/null; done
	# the removals younger than the grace period keep the runs; once older, gc collects them
	xtrk gc >/dev/null
	xtrk cat-object -t $(ids 2) >/dev/null
	find .xtrk/refs/removed .xtrk/objects -type f -exec touch -d "3 weeks ago" {} +
	xtrk gc >/dev/null
	for id in $(ids 1 2 3 4); do
		if xtrk cat-object -t $id >/dev/null 2>&1; then echo "removed run $id not collected"; exit 1; fi
	done
	xtrk cat-object -t $(ids 0) >/dev/null
	xtrk fsck >/dev/null
'

check 'retention on a 1,000-run store removes exactly the runs the rules, computed independently, let go' '
	mkstore big "[run(\"e%d\" % (i % 6), \"r%d\" % i, (i * 37) % 400 + (i % 7) / 10.0,
		status=\"failed\" if i % 7 == 0 else \"succeeded\",
		metrics={\"acc\": round((i * 7919) % 1000 / 1000.0, 3)} if i % 3 else ({\"acc\": \"n/a\"} if i % 2 else {}),
		notes=[\"kept for the paper\"] if i % 41 == 0 else [],
		tags=[\"t%d\" % i] if i % 53 == 0 else []) for i in range(1000)]"
	cd big
	for n in 5 77 301 640 999; do xtrk note $(ids $n) -m "appended $n" >/dev/null; done
	cat >> .xtrk/config <<-CFG
	[retain]
		last = 40
		best = 5
		metric = acc
		order = max
		failedDays = 90
	[retain "e1"]
		last = 10
		best = off
	[retain "e2"]
		order = min
		noted = false
	[retain "e4"]
		last = off
	CFG
	xtrk log --json > runs.json
	expect_eq "$(python3 -c "import json; print(len(json.load(open(\"runs.json\"))))")" 1000
	python3 - > expected <<-PY
	import datetime, json
	now = datetime.datetime.now(datetime.timezone.utc).timestamp()
	base = dict(last=40, best=5, metric="acc", order="max", failed=90, tagged=True, noted=True)
	over = {"e1": dict(last=10, best=None), "e2": dict(order="min", noted=False), "e4": dict(last=None)}
	def when(s):
	    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
	runs = json.load(open("runs.json"))
	cand, kept = set(), set()
	for exp in sorted({r["experiment"] for r in runs}):
	    rule = dict(base, **over.get(exp, {}))
	    rs = sorted((r for r in runs if r["experiment"] == exp), key=lambda r: (r["started"], r["id"]), reverse=True)
	    rs = sorted(rs, key=lambda r: r["started"], reverse=True)
	    for pos, r in enumerate(rs):
	        if rule["last"] is not None and pos >= rule["last"]:
	            cand.add(r["id"])
	        if r["status"] == "failed" and now - when(r["ended"]) >= rule["failed"] * 86400:
	            cand.add(r["id"])
	        if (rule["last"] is not None and pos < rule["last"]) or (rule["tagged"] and r["tags"]) or (rule["noted"] and r["notes"]):
	            kept.add(r["id"])
	    if rule["best"]:
	        scored = [(r["metrics"]["acc"], pos, r["id"]) for pos, r in enumerate(rs)
	                  if isinstance(r["metrics"].get("acc"), (int, float)) and not isinstance(r["metrics"].get("acc"), bool)]
	        scored.sort(key=lambda s: ((-s[0] if rule["order"] == "max" else s[0]), s[1]))
	        kept.update(s[2] for s in scored[:rule["best"]])
	print("\n".join(sorted(cand - kept)))
	PY
	wc -l < expected
	test "$(wc -l < expected)" -gt 300
	expect_eq "$(planned)" "$(cat expected)"
	xtrk retain >/dev/null
	expect_eq "$(removed)" "$(cat expected)"
	expect_eq "$(planned)" ""
	expect_eq "$(($(xtrk log | wc -l) - 1))" "$((1000 - $(wc -l < expected)))"
'

finish
