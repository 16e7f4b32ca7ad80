#!/bin/sh
# commit-run params and metrics: typed values, JSON/YAML files, series, and bad input.
. "$(dirname "$0")/lib.sh"

new_ws
cp "$DATA"/params.yaml "$DATA"/params.json "$DATA"/bad.yaml "$DATA"/bad.json \
   "$DATA"/series.jsonl "$DATA"/bad-series.jsonl .

check "-p values are typed as JSON numbers, booleans and strings" '
	id=$(xtrk commit-run -p lr=0.001 -p epochs=10 -p shuffle=true -p opt=adam -p a.b.c=1)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get params.lr)" 0.001
	expect_eq "$(echo "$j" | json_get params.epochs)" 10
	expect_eq "$(echo "$j" | json_get params.shuffle)" true
	expect_eq "$(echo "$j" | json_get params.opt)" adam
	expect_eq "$(echo "$j" | json_get params.a.b.c)" 1
'
check "YAML and JSON params files keep their nesting and types" '
	id=$(xtrk commit-run -P params.yaml -P params.json)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get params.optimizer.lr)" 0.01
	expect_eq "$(echo "$j" | json_get params.optimizer.name)" sgd
	expect_eq "$(echo "$j" | json_get params.layers)" "[64, 32]"
	expect_eq "$(echo "$j" | json_get params.batch_size)" 128
	expect_eq "$(echo "$j" | json_get params.quoted)" "007"
'
check "the params files are kept byte for byte" '
	id=$(xtrk commit-run -P params.yaml)
	blob=$(xtrk show --json $id | json_get params_files.0.id)
	xtrk cat-object $blob > back.yaml
	cmp back.yaml params.yaml
	expect_eq "$(xtrk show --json $id | json_get params_files.0.path)" params.yaml
'
check "show lists nested params flattened" '
	xtrk commit-run -e shown -P params.yaml >/dev/null
	xtrk show shown | grep -Eq "^  optimizer.lr +0.01$"
'
check "seed is read from the params key" '
	id=$(xtrk commit-run -P params.yaml)
	expect_eq "$(xtrk show --json $id | json_get seed)" 1234
'
check "--seed disagreeing with param seed is an error" '
	err=$(xtrk commit-run -P params.yaml --seed 5 2>&1 || true)
	expect_contains "$err" "disagrees with param seed"
'
check "malformed YAML: error names file and line, nothing written" '
	before=$(store_listing)
	err=$(xtrk commit-run -P bad.yaml 2>&1 || true)
	expect_contains "$err" "xtrk: error: bad.yaml:3:"
	expect_exit 1 xtrk commit-run -P bad.yaml
	expect_eq "$(store_listing)" "$before"
'
check "malformed JSON: error names file and line" '
	err=$(xtrk commit-run -P bad.json 2>&1 || true)
	expect_contains "$err" "bad.json:4:"
'
check "a key given twice is an error" '
	err=$(xtrk commit-run -p lr=1 -p lr=2 2>&1 || true)
	expect_contains "$err" "key '"'"'lr'"'"' given twice"
	id=$(xtrk commit-run -P params.yaml -p optimizer.lr=3)
	expect_eq "$(xtrk show --json $id | json_get params.optimizer.lr)" 3
	printf "a: 1\na: 2\n" > dup.yaml
	err=$(xtrk commit-run -P dup.yaml 2>&1 || true)
	expect_contains "$err" "dup.yaml:2: key '"'"'a'"'"' given twice"
	printf "{\"a\": 1, \"a\": 2}\n" > dup.json
	expect_exit 1 xtrk commit-run -P dup.json
'
check "a missing params file is a clear error" '
	err=$(xtrk commit-run -P nope.yaml 2>&1 || true)
	expect_contains "$err" "'"'"'nope.yaml'"'"' does not exist"
'
check "-p without = is an error" '
	err=$(xtrk commit-run -p lr 2>&1 || true)
	expect_contains "$err" "expected KEY=VALUE"
'
check "metrics from --metric and a YAML file, flattened" '
	printf "val:\n  acc: 0.91\n  loss: 0.2\n" > m.yaml
	id=$(xtrk commit-run --metric f1=0.8 -M m.yaml)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get metrics.f1)" 0.8
	expect_eq "$(echo "$j" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metrics\"][\"val.acc\"])")" 0.91
'
check "a metric that is not a number is refused" '
	err=$(xtrk commit-run --metric acc=high 2>&1 || true)
	expect_contains "$err" "metric '"'"'acc'"'"'"
'
check "--metric reads numbers as Python float() does" '
	id=$(xtrk commit-run --metric a=.97 --metric b=1. --metric c=1e3 --metric d=+1 --metric e=1_000 \
		--metric f=-2.5E-1 --metric g=1_000.5 --metric h=" 7 ")
	xtrk show --json $id | python3 -c "
import json, sys
m = json.load(sys.stdin)[\"metrics\"]
want = {\"a\": .97, \"b\": 1., \"c\": 1e3, \"d\": 1, \"e\": 1000, \"f\": -0.25, \"g\": 1000.5, \"h\": 7}
assert m == want, m
assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in m.values()), m"
'
check "--metric refuses inf and nan as not finite, and what float() refuses as not a number" '
	for v in inf -inf +Infinity nan NaN; do
		err=$(xtrk commit-run --metric acc=$v 2>&1) && { echo "took $v"; exit 1; }
		expect_contains "$err" "'"'"'$v'"'"' is not a finite number"
	done
	for v in 1__0 _1 1_ 1e 1e+ . -. 0x10 1.2.3 acc 1e3x; do
		err=$(xtrk commit-run --metric acc=$v 2>&1) && { echo "took $v"; exit 1; }
		expect_contains "$err" "'"'"'$v'"'"' is not a number"
	done
	expect_exit 1 xtrk commit-run --metric acc=inf
'
check "a .jsonl series is stored and its last values become metrics" '
	id=$(xtrk commit-run -M series.jsonl --metric loss=0.05)
	j=$(xtrk show --json $id)
	expect_eq "$(echo "$j" | json_get metrics.acc)" 0.9
	expect_eq "$(echo "$j" | json_get metrics.loss)" 0.05
	xtrk cat-object $(echo "$j" | json_get series) | cmp - series.jsonl
'
check "a malformed series line is named" '
	err=$(xtrk commit-run -M bad-series.jsonl 2>&1 || true)
	expect_contains "$err" "bad-series.jsonl:3:"
'
finish
