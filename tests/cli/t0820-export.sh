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
finish
