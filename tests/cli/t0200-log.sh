#!/bin/sh
# xtrk log: newest first, experiment filter, count limit, table, JSON and CSV.
. "$(dirname "$0")/lib.sh"

new_ws
a=$(xtrk commit-run -e alpha -m "first, with a comma" -p lr=0.1 --metric acc=0.5)
b=$(xtrk commit-run -e beta -p lr=0.01 --metric acc=0.7)
c=$(xtrk commit-run -e alpha -p lr=0.001 --metric acc=0.9 --metric loss=0.1)

check "the table lists runs newest first" '
	out=$(xtrk log)
	expect_eq "$(echo "$out" | sed -n 2p | cut -c1-12)" "$(echo $c | cut -c1-12)"
	expect_eq "$(echo "$out" | sed -n 4p | cut -c1-12)" "$(echo $a | cut -c1-12)"
	expect_contains "$out" "acc=0.9 loss=0.1"
'
check "-e filters by experiment, -n limits" '
	expect_eq "$(xtrk log -e alpha --format json | json_get 0.id)" "$c"
	expect_eq "$(xtrk log -e alpha --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" 2
	expect_eq "$(xtrk log -n 1 --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" 1
'
check "an unknown experiment prints nothing and says so" '
	out=$(xtrk log -e nope --json 2>err)
	expect_eq "$out" "[]"
	expect_contains "$(cat err)" "no runs in experiment"
'
check "JSON entries have the same shape as show --json" '
	expect_eq "$(xtrk log --json | json_get 2.id)" "$a"
	xtrk log --json | python3 -c "import json,sys; r=json.load(sys.stdin)[0]; assert set(r) >= {\"params\",\"metrics\",\"env\",\"source\",\"tags\"}"
'
check "CSV has a header, quoted fields and one column per param and metric" '
	out=$(xtrk log --format csv)
	head=$(echo "$out" | head -1)
	expect_contains "$head" "id,experiment,started"
	expect_contains "$head" "params.lr"
	expect_contains "$head" "metrics.acc,metrics.loss"
	expect_contains "$out" "\"first, with a comma\""
	expect_eq "$(echo "$out" | wc -l)" 4
	echo "$out" | python3 -c "import csv,sys; rows=list(csv.DictReader(sys.stdin)); assert rows[2][\"params.lr\"]==\"0.1\", rows[2]"
'
check "--columns chooses the fields" '
	out=$(xtrk log --columns id,params.lr,metrics.acc -e alpha)
	expect_eq "$(echo "$out" | head -1 | tr -s " ")" "id params.lr metrics.acc"
	expect_contains "$(echo "$out" | sed -n 2p)" "0.001"
'
check "--columns on a list or an object shows what is below it (tags, params)" '
	t=$(xtrk commit-run -e tagged -p lr=0.5 -p opt.name=adam --tag best --tag v2)
	out=$(xtrk log -e tagged --columns id,tags,params)
	expect_eq "$(echo "$out" | sed -n 2p | tr -s " ")" "$(echo $t | cut -c1-12) best,v2 lr=0.5,opt.name=adam"
	csv=$(xtrk log -e tagged --format csv --columns tags,params.opt)
	expect_eq "$(echo "$csv" | sed -n 2p)" "\"best,v2\",name=adam"
'
check "bad options exit 2" '
	expect_exit 2 xtrk log --format xml
	expect_exit 2 xtrk log -n many
'
finish
