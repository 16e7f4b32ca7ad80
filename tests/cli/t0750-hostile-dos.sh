#!/bin/sh
# Hostile input that costs without bound: deep nesting in params, metrics and queries, numbers too
# large for a double, regular expressions that backtrack or blow up, a lineage cycle, and paths that
# are streams.  Each is refused (or shown) quickly with a clear message, and nothing is stored.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir in
# flow[N]: a YAML/JSON value N levels deep; block[N]: a YAML block mapping N levels deep
py() { python3 -c "$1"; }
py 'print("a: " + "[" * 100000 + "]" * 100000)' > in/deep-flow.yaml
py 'print("".join(" " * i + "k:\n" for i in range(3000)) + " " * 3000 + "k: 1")' > in/deep-block.yaml
py 'print("a: " + "[" * 63 + "]" * 63)' > in/at-limit.yaml
py 'print("{\"a\": " + "[" * 100000 + "]" * 100000 + "}")' > in/deep.json
py 'print("{\"a\": " + "[" * 100 + "]" * 100 + "}")' > in/deep100.json
py 'print("{\"a\": " + "[" * 100000 + "]" * 100000 + "}")' > in/deep.params
py 'print("".join("{\"k\": " for i in range(10000)) + "1" + "}" * 10000)' > in/deep-objects.json
git add . >/dev/null 2>&1; git commit -qm inputs

# refused_run MESSAGE ARGS...: commit-run refuses (exit 1) naming MESSAGE, within 5 s, storing nothing.
refused_run() {
	msg=$1; shift
	before=$(store_listing)
	set +e
	timeout 5 "$XTRK_BIN" commit-run -q "$@" > out 2> err; rc=$?
	set -e
	[ $rc -eq 1 ] || { echo "exit $rc from commit-run $(echo "$*" | head -c 200)"; head -c 400 err; return 1; }
	expect_contains "$(head -c 2000 err)" "$msg"
	expect_eq "$(store_listing)" "$before"
}

check "params nested 100,000 deep in YAML (flow and block), JSON and an unnamed format are refused" '
	refused_run "nested more than 64 levels deep" -P in/deep-flow.yaml
	refused_run "in/deep-block.yaml:65: nested more than 64 levels deep" -P in/deep-block.yaml
	refused_run "in/deep.json:1: maximum parsing depth" -P in/deep.json
	refused_run "nests more than 64 levels deep" -P in/deep100.json
	refused_run "in/deep.params:1: nested more than 64 levels deep" -P in/deep.params
	refused_run "maximum parsing depth" -P in/deep-objects.json
'
check "metrics nested too deep are refused too" '
	refused_run "nested more than 64 levels deep" -M in/deep-flow.yaml
	refused_run "nests more than 64 levels deep" -M in/deep100.json
'
check "-p keys and values nested past 64 levels are refused; 64 are kept" '
	refused_run "nests more than 64 levels deep" -p "$(py "print(\".\".join([\"k\"] * 60000))")=1"
	refused_run "nests more than 64 levels deep" -p "$(py "print(\".\".join([\"k\"] * 65))")=1"
	refused_run "nests more than 64 levels deep" -p "$(py "print(\".\".join([\"k\"] * 60))")=[[[[[1]]]]]"
	refused_run "nests more than 64 levels deep" -p "a=$(py "print(\"[\" * 1000 + \"]\" * 1000)")"
	id=$(xtrk commit-run -q -p "$(py "print(\".\".join([\"k\"] * 64))")=1" -P in/at-limit.yaml)
	xtrk show $id --json > run.json
	xtrk log --format json > /dev/null
'
printf 'lr: 1e400\nbatch: 32\n' > in/over.yaml
printf 'n: 99999999999999999999\n' > in/bigint.yaml
printf 'lr: -1e400\n' > in/neg.yaml
printf 'loss: 1e400\nacc: 0.5\n' > in/over-metrics.yaml
printf 'nested:\n  loss: [1, 2e999]\n' > in/over-list.yaml
printf '{"lr": 1e400}' > in/over.json
printf 'lr: .inf\nmode: .nan\n' > in/inf.yaml
printf 'loss: .nan\n' > in/nan-metrics.yaml
check "numbers too large for a double are refused naming the key, in YAML as in JSON, never dropped" '
	refused_run "'"'"'lr'"'"': 1e400 is too large a number" -P in/over.yaml
	refused_run "'"'"'n'"'"': 99999999999999999999 is too large" -P in/bigint.yaml
	refused_run "'"'"'lr'"'"': -1e400 is too large" -P in/neg.yaml
	refused_run "'"'"'loss'"'"': 1e400 is too large a number" -M in/over-metrics.yaml
	refused_run "'"'"'loss'"'"': 2e999 is too large" -M in/over-list.yaml
	refused_run "real number overflow" -P in/over.json
	refused_run "key '"'"'lr'"'"' (with -p): 1e400 is too large a number" -p lr=1e400
	refused_run "metric '"'"'loss'"'"' (given with --metric): 1e400 is too large" --metric loss=1e400
	refused_run "metric '"'"'loss'"'"' (in in/nan-metrics.yaml) is not a number" -M in/nan-metrics.yaml
	refused_run "metric '"'"'loss'"'"' (given with --metric): '"'"'nan'"'"' is not a finite number" --metric loss=nan
'
check "nan and inf, which JSON cannot hold, are kept as text in params" '
	id=$(xtrk commit-run -q -P in/inf.yaml -p x=nan -p y=-inf)
	xtrk show $id --json > run.json
	expect_eq "$(json_get params.lr < run.json)" ".inf"
	expect_eq "$(json_get params.mode < run.json)" ".nan"
	expect_eq "$(json_get params.x < run.json)" "nan"
	expect_eq "$(json_get params.y < run.json)" "-inf"
'

# deep_bundle GOOD OUT DEPTH [FIELD]: GOOD with its run record's FIELD (params) holding a value DEPTH levels deep
deep_bundle() { python3 - "$@" <<'PY'
import io, json, subprocess, sys, tarfile
good, out, depth = sys.argv[1], sys.argv[2], int(sys.argv[3])
field = sys.argv[4] if len(sys.argv) > 4 else "params"
with tarfile.open(good) as t:
    entries = [(m, t.extractfile(m).read() if m.isfile() else b"") for m in t.getmembers()]
def xxh(data):
    return subprocess.run(["xxhsum", "-H2", "-"], input=data, capture_output=True, check=True).stdout.split()[0].decode()
def reg(name, data):
    m = tarfile.TarInfo(name); m.size = len(data); m.mode = 0o644
    return (m, data)
i = next(i for i, (m, _) in enumerate(entries) if m.name.endswith(".run"))
old = entries[i][0].name[len("objects/"):-len(".run")]
rec = json.loads(entries[i][1])
rec.setdefault(field, {})["deep"] = "@DEEP@"
deep = '{"k":' * depth + "1" + "}" * depth
data = json.dumps(rec, sort_keys=True, separators=(",", ":")).replace('"@DEEP@"', deep).encode()
new = xxh(data)
entries[i] = reg("objects/%s.run" % new, data)
s = next(i for i, (m, _) in enumerate(entries) if m.name.startswith("runs/"))
entries[s] = reg("runs/%s.json" % new, json.dumps(dict(rec, id=new, tags=[])).replace('"@DEEP@"', deep).encode())
mi = next(i for i, (m, _) in enumerate(entries) if m.name == "xtrk-bundle.json")
man = json.loads(entries[mi][1])
for r in man["runs"]:
    if r["id"] == old: r["id"] = new
for o in man["objects"]:
    if o[0] == old: o[0], o[2] = new, len(data)
man["bytes"] = sum(o[2] for o in man["objects"])
entries[mi] = reg("xtrk-bundle.json", json.dumps(man).encode())
with tarfile.open(out, "w") as t:
    for m, d in entries:
        t.addfile(m, io.BytesIO(d) if m.isfile() else None)
PY
}
check "a bundled run record nested deeper than params may be is refused by verify and import; 64 levels pass" '
	echo d > d.csv
	xtrk commit-run -q -e deep -p lr=1 -d d.csv > /dev/null
	xtrk bundle create -o good.tar deep 2>/dev/null
	mkdir victim && (cd victim && new_ws)
	before=$(store_listing victim)
	for c in "1000 params" "100000 params" "65 params" "64 params" "64 metrics" "1000 env" "80 env"; do
		deep_bundle good.tar h.tar $c
		set +e
		timeout 10 "$XTRK_BIN" bundle verify h.tar > out 2>&1; vrc=$?
		timeout 10 "$XTRK_BIN" -C victim bundle import h.tar > out2 2>&1; irc=$?
		set -e
		[ $vrc -eq 3 ] && [ $irc -eq 1 ] || { echo "$c: verify $vrc, import $irc"; head -c 300 out out2; return 1; }
		grep -Eq "nests (deeper|more)|maximum parsing depth" out || { echo "$c: $(head -c 300 out)"; return 1; }
		expect_eq "$(store_listing victim)" "$before"
	done
	deep_bundle good.tar ok.tar 63 params
	xtrk bundle verify ok.tar > /dev/null
	xtrk -C victim bundle import ok.tar > /dev/null
	xtrk -C victim log --where "params.deep.k.k.k == null" > /dev/null
'

long=$(py 'print("a" * 30000 + "!")')
xtrk commit-run -q -e re -p s=$long -p t=abc > /dev/null
# where_refused MESSAGE EXPR: log exits 2 naming MESSAGE within 2 s (generous; the bounds end it in milliseconds)
where_refused() {
	t0=$(date +%s%N)
	set +e
	timeout 10 "$XTRK_BIN" log --where "$2" > out 2> err; rc=$?
	set -e
	t1=$(date +%s%N)
	[ $rc -eq 2 ] || { echo "exit $rc from --where $(echo "$2" | head -c 80)"; head -c 400 err; return 1; }
	expect_contains "$(head -c 2000 err)" "$1"
	[ $(( (t1 - t0) / 1000000 )) -lt 2000 ] || { echo "took $(( (t1 - t0) / 1000000 )) ms"; return 1; }
}
check "--where with 30,000 nested not or parentheses, or 20,000 terms, is refused, not a crash" '
	where_refused "parentheses and '"'"'not'"'"' nested more than 64 deep" "$(py "print(\"not \" * 30000 + \"params.t\")")"
	where_refused "parentheses and '"'"'not'"'"' nested more than 64 deep" "$(py "print(\"(\" * 30000 + \"params.t\" + \")\" * 30000)")"
	where_refused "more than 4096 fields and values" "$(py "print(\" and \".join([\"x\"] * 20000))")"
	where_refused "nested more than 64 deep" "params.t and $(py "print(\"(not \" * 40 + \"x\" + \")\" * 40)")"
	xtrk log --where "$(py "print(\"(\" * 32 + \"not \" * 30 + \"params.t\" + \")\" * 32)")" > out
	expect_contains "$(cat out)" "re "
'
check "catastrophic regular expressions end within 2 s with a clear error" '
	where_refused "needs too much work on a 30001-byte value" "params.s ~ \"(a+)+\$\""
	where_refused "needs too much work" "params.s ~ \"(a|aa)+\$\""
	where_refused "needs too much work" "params.s ~ \"(.*a){20}\""
	where_refused "needs too much work" "params.s ~ \"(\\\\w+\\\\s?)*\$\""
	where_refused "bad regular expression" "params.s ~ \"a{1000}{1000}\""
	where_refused "bad regular expression: regular expression is too large" "params.s ~ \"((a{100}){100}){100}\""
	where_refused "over the limit of 1024" "params.s ~ \"$(py "print(\"a\" * 1025)")\""
	where_refused "nested" "params.s ~ \"$(py "print(\"(\" * 200 + \"a\" + \")\" * 200)")\""
'
check "ordinary regular expressions still match, POSIX classes and all" '
	expect_eq "$(xtrk log --where "params.s ~ \"^a+!\$\"" --format csv --columns params.t | tail -n +2)" "abc"
	expect_eq "$(xtrk log --where "params.t ~ \"^[[:alpha:]]{3}\$\"" --format csv --columns params.t | tail -n +2)" "abc"
	expect_eq "$(xtrk log --where "params.s ~ \"(?:a{1000}){30}\"" --format csv --columns params.t | tail -n +2)" "abc"
	expect_eq "$(xtrk log --where "params.t ~ \"^b\"" --format csv --columns params.t | tail -n +2)" ""
'

check "lineage of a run whose output is its own input shows the graph and marks the cycle" '
	echo loop > loop.csv
	run=$(xtrk commit-run -q -e cyc -d in=loop.csv --artifact out=loop.csv)
	out=$(timeout 5 "$XTRK_BIN" lineage loop.csv)
	expect_contains "$out" "run $(echo $run | cut -c1-12) (cyc)"
	expect_contains "$out" "loop.csv"
	expect_contains "$out" "<== target"
	expect_contains "$out" "(cycle: back to this node above)"
	out=$(timeout 5 "$XTRK_BIN" lineage $run)
	expect_contains "$out" "(cycle: back to this node above)"
	expect_eq "$(xtrk lineage $run --format json | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"edges\"]))")" 2
'
check "lineage of a cycle through two runs, reached from a root, shows every node once and the cycle" '
	echo x > x.csv && echo y > y.csv && echo seed > seed.csv
	a=$(xtrk commit-run -q -e cyc2 -d x=x.csv -d seed=seed.csv --artifact y=y.csv)
	b=$(xtrk commit-run -q -e cyc2 -d y=y.csv --artifact x=x.csv)
	out=$(timeout 5 "$XTRK_BIN" lineage y.csv)
	expect_eq "$(echo "$out" | sed -n 1p | cut -d" " -f1)" seed.csv
	expect_contains "$out" "run $(echo $a | cut -c1-12)"
	expect_contains "$out" "run $(echo $b | cut -c1-12)"
	expect_contains "$out" "(cycle: back to this node above)"
'

check "hash-object refuses a FIFO, /dev/zero and a folder at once; --stdin reads a stream" '
	mkfifo fifo
	before=$(store_listing)
	for p in fifo /dev/zero /dev/urandom in; do
		set +e
		timeout 5 "$XTRK_BIN" hash-object $p > out 2> err; rc=$?
		timeout 5 "$XTRK_BIN" hash-object -w $p > out 2> err2; rc2=$?
		set -e
		[ $rc -eq 1 ] && [ $rc2 -eq 1 ] || { echo "$p: exit $rc/$rc2"; return 1; }
		expect_contains "$(cat err)" "is not a regular file"
		expect_contains "$(cat err2)" "is not a regular file"
	done
	expect_eq "$(store_listing)" "$before"
	expect_eq "$(printf hello | xtrk hash-object --stdin)" "$(printf hello | xxhsum -H2 - | cut -d" " -f1)"
	id=$(head -c 3000000 /dev/zero | xtrk hash-object -w --stdin)
	expect_eq "$(xtrk cat-object $id | wc -c)" 3000000
'
finish
