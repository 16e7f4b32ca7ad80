#!/bin/sh
# xtrk export: show --json's records for every matching run, CSV with one column per flattened field.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir data && echo a > data/a
xtrk commit-run -e mnist -p lr=0.1 -p 'net={"layers": 3}' --metric acc=0.8 -d train=data -m "with, comma" >/dev/null
xtrk commit-run -e mnist -p lr=0.01 --metric acc=0.9 --tag best >/dev/null
xtrk commit-run -e other -p lr=0.5 >/dev/null

check "JSON: an array of runs shaped as show --json, every run by default" '
	xtrk export > all.json
	expect_eq "$(python3 -c "import json; print(len(json.load(open(\"all.json\"))))")" 3
	id=$(json_get 0.id < all.json)
	xtrk show $id --json > one.json
	python3 -c "import json; a=json.load(open(\"all.json\"))[0]; b=json.load(open(\"one.json\")); assert a==b, (a,b)"
'
check "--where, -e and --sort select and order" '
	expect_eq "$(xtrk export --where "metrics.acc > 0.85" | json_get 0.tags.0)" best
	expect_eq "$(xtrk export -e other | json_get 0.params.lr)" 0.5
	expect_eq "$(xtrk export --sort params.lr | json_get 0.params.lr)" 0.01
'
check "CSV: flattened columns, including nested params, datasets by name and the environment" '
	xtrk export --format csv > all.csv
	head=$(head -1 all.csv)
	expect_contains "$head" "params.net.layers"
	expect_contains "$head" "datasets.train.id"
	expect_contains "$head" "env.os.kernel"
	expect_contains "$head" "tags.0"
	python3 - <<PY
import csv
rows = list(csv.DictReader(open("all.csv")))
assert len(rows) == 3, rows
by_lr = {r["params.lr"]: r for r in rows}
assert by_lr["0.1"]["params.net.layers"] == "3"
assert by_lr["0.1"]["message"] == "with, comma"
assert by_lr["0.01"]["tags.0"] == "best"
assert by_lr["0.5"]["datasets.train.id"] == ""
assert len(by_lr["0.1"]["datasets.train.id"]) == 32
PY
'
check "--columns restricts the CSV; bad options exit 2" '
	expect_eq "$(xtrk export --format csv --columns id,params.lr --sort params.lr | sed -n 2p | cut -d, -f2)" 0.01
	expect_exit 2 xtrk export --format table
	expect_exit 2 xtrk export --where "lr <"
'
check "-n N: the first N after --where and --sort; a bad -n exits 2" '
	expect_eq "$(xtrk export -n 1 | json_get 0.params.lr)" "$(xtrk export | json_get 0.params.lr)"
	expect_eq "$(xtrk export -n 1 | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" 1
	expect_eq "$(xtrk export -n 0 | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")" 0
	expect_eq "$(xtrk export -n 2 --sort params.lr --format csv --columns params.lr | tail -n +2 | tr "\n" " ")" "0.01 0.1 "
	expect_eq "$(xtrk export -n 1 --where "params.lr > 0.05" --sort -params.lr | json_get 0.params.lr)" 0.5
	expect_exit 2 xtrk export -n -1
	expect_exit 2 xtrk export -n two
'
check "CSV: the packages of the environment only with --packages or when --columns names them" '
	command -v python3 >/dev/null || skip "no python3 to ask for packages"
	git config -f .xtrk/config capture.python true
	xtrk commit-run -e pk -p lr=1 >/dev/null
	git config -f .xtrk/config capture.python false
	xtrk export -e pk --format json | python3 -c "
import json, sys
pk = json.load(sys.stdin)[0][\"env\"][\"python\"][\"packages\"]
assert pk, pk
" || skip "the environment records no Python packages here"
	head=$(xtrk export -e pk --format csv | sed -n 1p)
	expect_not_contains "$head" "env.python.packages"
	expect_contains "$head" "env.os.kernel"
	with=$(xtrk export -e pk --format csv --packages | sed -n 1p)
	expect_contains "$with" "env.python.packages"
	expect_contains "$with" "env.os.kernel"
	n=$(echo "$head" | tr , "\n" | wc -l); m=$(echo "$with" | tr , "\n" | wc -l)
	test "$m" -gt "$n"
	# every column but the packages is the same
	expect_eq "$(echo "$with" | tr , "\n" | grep -v "^env\.python\.packages[.[]")" "$(echo "$head" | tr , "\n")"
	expect_eq "$(xtrk export -e pk --format csv --columns env.python.packages | sed -n 1p)" env.python.packages
	xtrk export -e pk --format csv --columns env.python.packages | sed -n 2p | grep "=" >/dev/null
'
check "flattened names: a name that is not plain goes in brackets, the same in export, --columns, --sort and --where" '
	echo w > model.pt
	printf "{\"a b\": 1, \"x]y\\\\\\\\z\": 2, \"c\": {\"d\": 3}}\n" > odd.json
	python3 -c "import json; assert json.load(open(\"odd.json\"))[\"x]y\\\\z\"] == 2"
	xtrk commit-run -e names -P odd.json --model model.pt --model w.v1=model.pt >/dev/null
	head=$(xtrk export -e names --format csv | sed -n 1p)
	expect_contains "$head" "models[model.pt].bytes"
	expect_contains "$head" "models[w.v1].id"
	expect_contains "$head" "params[a b]"
	expect_contains "$head" "params[x\\]y\\\\z]"
	expect_contains "$head" "params.c.d"
	expect_not_contains "$head" "models.model.pt"
	# one name per field: no two columns of the header read the same, and each reads back as itself
	echo "$head" | python3 -c "
import csv, sys
cols = next(csv.reader(sys.stdin))
assert len(cols) == len(set(cols)), cols
"
	expect_eq "$(xtrk export -e names --format csv --columns "models[model.pt].bytes,params[a b],params[x\\]y\\\\z]" | sed -n 2p)" "2,1,2"
	# a column that names an object lists what is below it, bracketed parts included
	expect_contains "$(xtrk export -e names --format csv --columns models | sed -n 2p)" "[model.pt].bytes=2"
	expect_contains "$(xtrk export -e names --format csv --columns models | sed -n 2p)" "[w.v1].bytes=2"
	# a part may be bracketed though plain, or have a dot before its bracket: the same field
	expect_eq "$(xtrk export --format csv --where "models.[model.pt].bytes == 2 and params[c].d == 3" --columns "params[c].d" | sed -n 2p)" 3
	expect_eq "$(xtrk export --format csv --where "params[x\\]y\\\\z] == 2" --columns id | wc -l)" 2
	expect_eq "$(xtrk export --format csv --sort "-models[model.pt].bytes" --columns "models[model.pt].bytes" | sed -n 2p)" 2
	# the old, ambiguous spelling matches nothing and says what it meant
	expect_eq "$(xtrk export --where "models.model.pt.bytes == 2" 2>err | json_get 0 2>/dev/null || :)" ""
	expect_contains "$(cat err)" "models[model.pt].bytes"
'
check "an index written before the rule (segment version 1, names with dots only) is not used: runs are read again" '
	for f in .xtrk/index/seg-*.idx; do
		python3 -c "
import struct, sys
with open(sys.argv[1], \"r+b\") as f:
    f.seek(8); assert struct.unpack(\"<I\", f.read(4))[0] == 2; f.seek(8); f.write(struct.pack(\"<I\", 1))" "$f"
	done
	before=$(ls .xtrk/index/seg-*.idx | wc -l)
	expect_eq "$(xtrk export --format csv --where "models[model.pt].bytes == 2" --columns "models[w.v1].bytes" | sed -n 2p)" 2
	test "$(ls .xtrk/index/seg-*.idx | wc -l)" -gt "$before"
'
check "malformed field names are refused with exit 2 and a clear message" '
	for bad in "models[model.pt" "params..lr" "params.lr." "models[a]b" "params.a b"; do
		expect_exit 2 xtrk export --format csv --columns "$bad"
		expect_exit 2 xtrk export --sort "$bad"
	done
	expect_exit 2 xtrk export --where "models[model.pt == 1"
	xtrk export --format csv --columns "models[model.pt" 2>err || :
	expect_contains "$(cat err)" "not closed"
	xtrk export --format csv --columns "params.a b" 2>err || :
	expect_contains "$(cat err)" "brackets"
'
finish
