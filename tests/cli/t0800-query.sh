#!/bin/sh
# log --where: every operator, precedence, type rules, missing fields, ID prefixes, and errors with a column.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir -p data && echo v1 > data/a
# Five runs, named by their seed so the expected sets read easily.
xtrk commit-run -e mnist --seed 1 -p lr=0.1 -p opt=adam --metric acc=0.80 -d train=data >/dev/null
xtrk commit-run -e mnist --seed 2 -p lr=0.01 -p opt=sgd --metric acc=0.91 --tag baseline -d train=data >/dev/null
echo v2 > data/a
xtrk commit-run -e mnist --seed 3 -p lr=0.001 -p opt=sgd --metric acc=0.95 -d train=data -m "best so far" >/dev/null
xtrk commit-run -e cifar --seed 4 -p lr=0.005 -p 'opt="adamw"' --metric acc=0.60 --metric loss=1.5 >/dev/null
echo "# tweak" >> train.py
xtrk commit-run -e cifar --seed 5 -p lr=0.05 -p layers=3 --failed >/dev/null
git checkout -q train.py
id2=$(xtrk log --where 'seed == 2' --format json | json_get 0.id)
train1=$(xtrk log --where 'seed == 1' --format json | json_get 0.datasets.0.id)

# seeds WHERE: the seeds of the matching runs, ascending
seeds() { xtrk log --where "$1" --format csv --columns seed | sed 1d | sort -n | tr '\n' ' ' | sed 's/ $//'; }
expect_where() { got=$(seeds "$1") || return 1; [ "$got" = "$2" ] || { echo "--where '$1': expected seeds '$2', got '$got'"; return 1; }; }

check "numbers compare as numbers" '
	expect_where "params.lr < 0.01" "3 4"
	expect_where "params.lr <= 0.01" "2 3 4"
	expect_where "params.lr > 0.01" "1 5"
	expect_where "params.lr >= 0.05" "1 5"
	expect_where "metrics.acc == 0.91" "2"
	expect_where "metrics.acc != 0.91" "1 3 4"
	expect_where "params.layers == 3" "5"
'
check "strings compare as strings; a string is never equal to a number" '
	expect_where "params.opt == \"sgd\"" "2 3"
	expect_where "params.opt != \"sgd\"" "1 4"
	expect_where "experiment == '"'"'cifar'"'"'" "4 5"
	expect_where "params.opt > \"adam\"" "2 3 4"
	expect_where "metrics.acc == \"0.91\"" ""
	expect_where "status == \"failed\"" "5"
'
check "a field a run lacks makes the comparison false (and not makes it true)" '
	expect_where "metrics.loss > 0" "4"
	expect_where "metrics.loss != 2" "4"
	expect_where "not metrics.loss > 0" "1 2 3 5"
	expect_where "params.nothing == 1 or seed == 1" "1"
'
check "and binds tighter than or; not tighter than and; parentheses override" '
	expect_where "seed == 2 or seed == 1 and params.opt == \"adam\"" "1 2"
	expect_where "(seed == 1 or seed == 2) and params.opt == \"sgd\"" "2"
	expect_where "not seed == 1 and experiment == \"mnist\"" "2 3"
	expect_where "not (seed == 1 or seed == 2)" "3 4 5"
	expect_where "seed == 1 OR seed == 3" "1 3"
'
check "booleans, null and bare fields" '
	expect_where "source.dirty == true" "5"
	expect_where "source.dirty == false" "1 2 3 4"
	expect_where "source.dirty" "5"
	expect_where "not source.dirty and seed < 3" "1 2"
	expect_where "exit_code == null" "1 2 3 4 5"
'
check "contains: arrays and substrings" '
	expect_where "tags contains \"baseline\"" "2"
	expect_where "tags contains \"nope\"" ""
	expect_where "message contains \"so far\"" "3"
	expect_where "params contains \"sgd\"" "2 3"
'
check "~ matches a regular expression" '
	expect_where "params.opt ~ \"^adam\"" "1 4"
	expect_where "env.os.kernel ~ \".\"" "1 2 3 4 5"
	expect_where "params.lr ~ \"^0\\.0[15]\$\"" "2 5"
'
check "datasets by name, IDs by prefix, times as text" '
	expect_where "datasets.train.id == \"$train1\"" "1 2"
	expect_where "datasets.train.id == \"$(echo $train1 | cut -c1-6)\"" "1 2"
	expect_where "datasets.train.files == 1" "1 2 3"
	expect_where "started > \"2000-01-01\"" "1 2 3 4 5"
	expect_where "started < \"2000-01-01\"" ""
	expect_where "env.cpu.cores > 0" "1 2 3 4 5"
	expect_where "id == \"$(echo $id2 | cut -c1-8)\"" "2"
	expect_where "id == \"$id2\"" "2"
'
check "--sort orders by a field (runs without it last), -n limits" '
	out=$(xtrk log --sort -metrics.acc --format csv --columns seed | sed 1d | tr "\n" " ")
	expect_eq "$out" "3 2 1 4 5 "
	out=$(xtrk log --sort params.lr -n 2 --format csv --columns seed | sed 1d | tr "\n" " ")
	expect_eq "$out" "3 4 "
	out=$(xtrk log --where "experiment == \"mnist\"" --sort -metrics.acc -n 1 --format json | json_get 0.seed)
	expect_eq "$out" 3
'
# error: EXPR COLUMN MESSAGE
expect_error() {
	set +e; xtrk log --where "$1" >out 2>err; rc=$?; set -e
	[ $rc -eq 2 ] || { echo "--where '$1': expected exit 2, got $rc"; return 1; }
	expect_contains "$(sed -n 1p err)" "xtrk: error: --where: column $2: "
	expect_contains "$(sed -n 1p err)" "$3"
	caret=$(sed -n 3p err)
	[ "${#caret}" -eq $(( $2 + 2 )) ] || { echo "caret at ${#caret}, want column $2: $(cat err)"; return 1; }
	expect_eq "$(cat out)" ""
}
check "a malformed expression exits 2 pointing at the column" '
	expect_error "params.lr <" 12 "expected a value after"
	expect_error "params.lr < 0.1 and" 20 "expected a field"
	expect_error "params.lr = 0.1" 11 "'"'"'='"'"' is not an operator; compare with '"'"'=='"'"'"
	expect_error "(seed == 1 or seed == 2" 24 "expected '"'"')'"'"'"
	expect_error "seed == 1 seed == 2" 11 "expected '"'"'and'"'"', '"'"'or'"'"' or the end"
	expect_error "params.opt == \"sgd" 15 "no closing"
	expect_error "params.opt ~ \"(\"" 14 "bad regular expression"
	expect_error "0.1 < " 7 "expected a value after"
	expect_error "" 1 "empty"
	expect_error "seed == 1x" 9 "not a number"
	expect_error "params.lr # 3" 11 "unexpected"
'
check "a field no run has is named in a warning, with what it may have meant; known fields warn nothing" '
	xtrk log --where "lr < 0.05" >/dev/null 2>err
	expect_contains "$(cat err)" "no run has a field '"'"'lr'"'"'; did you mean '"'"'params.lr'"'"'?"
	xtrk log --where "metric.acc > 0.5" >/dev/null 2>err
	expect_contains "$(cat err)" "did you mean '"'"'metrics.acc'"'"'?"
	xtrk export --where "nothing.like.this == 1" >/dev/null 2>err
	expect_contains "$(cat err)" "no run has a field '"'"'nothing.like.this'"'"'"
	for w in "params.lr < 0.05" "datasets.train.id != '"'"'x'"'"'" "env.os.name != '"'"''"'"'" "tags contains '"'"'baseline'"'"'" \
		"id != '"'"'0000'"'"'" "status == '"'"'succeeded'"'"'" "params.opt == '"'"'sgd'"'"'" "params" "source.dirty == false"; do
		xtrk log --where "$w" >/dev/null 2>err
		expect_eq "$(cat err)" ""
	done
'
finish
