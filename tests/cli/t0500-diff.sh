#!/bin/sh
# xtrk diff: exactly what changed between two runs, and between a run and the workspace.
. "$(dirname "$0")/lib.sh"

new_git_repo
new_ws
mkdir -p data/sub
i=0; while [ $i -lt 20 ]; do echo "row $i" > data/f$i.csv; i=$((i+1)); done
echo deep > data/sub/deep.txt
echo w1 > model.bin
printf 'lr: 0.1\nbatch: 32\n' > params.yaml
a=$(xtrk commit-run -e exp -P params.yaml --metric acc=0.5 --metric loss=0.9 -d data --model model.bin)

# The second run differs in one param, one metric, three dataset files and the model.
sed -i 's/lr: 0.1/lr: 0.01/' params.yaml
echo changed >> data/f3.csv
rm data/f7.csv
echo new > data/sub/new.csv
echo w2 > model.bin
b=$(xtrk commit-run -e exp -P params.yaml --metric acc=0.75 --metric loss=0.9 -d data --model model.bin)

check "diff --json lists exactly the param, metric, files and model that changed" '
	xtrk diff --json $a $b > d.json
	python3 - d.json <<-PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["params"] == {"changed": {"lr": [0.1, 0.01]}, "added": {}, "removed": {}}, d["params"]
	assert d["metrics"] == {"acc": {"a": 0.5, "b": 0.75, "delta": 0.25}}, d["metrics"]
	[ds] = d["datasets"]
	assert ds["name"] == "data"
	assert ds["modified"] == ["data/f3.csv"], ds
	assert ds["removed"] == ["data/f7.csv"], ds
	assert ds["added"] == ["data/sub/new.csv"], ds
	[m] = d["models"]
	assert m["modified"] == ["model.bin"] and not m["added"] and not m["removed"], m
	assert d["artifacts"] == []
	assert d["source"]["commits_between"] == 0 and d["source"]["patch_changed"] is False, d["source"]
	assert not d["env"]["changed"] and not d["env"]["added"] and not d["env"]["removed"], d["env"]
	PY
'
check "the human view names the changes" '
	out=$(xtrk diff $a $b)
	expect_contains "$out" "lr: 0.1 -> 0.01"
	expect_contains "$out" "acc: 0.5 -> 0.75 (+0.25)"
	expect_contains "$out" "M data/f3.csv"
	expect_contains "$out" "D data/f7.csv"
	expect_contains "$out" "A data/sub/new.csv"
	expect_not_contains "$out" "loss"
'
check "--stat gives counts only" '
	out=$(xtrk diff --stat $a $b)
	expect_contains "$out" "data (data): 1 modified, 1 added, 1 removed"
	expect_not_contains "$out" "data/f3.csv"
'
check "section filters keep only what was asked" '
	xtrk diff --json --params $a $b > p.json
	python3 -c "import json; d=json.load(open(\"p.json\")); assert \"params\" in d and \"datasets\" not in d and \"metrics\" not in d, d"
'
check "--exit-code: 3 when runs differ, 0 for a run against itself" '
	expect_exit 3 xtrk diff --exit-code $a $b
	expect_exit 0 xtrk diff --exit-code $a $a
	expect_exit 0 xtrk diff --exit-code --env $a $b
'
check "source: commits between two runs, with their subjects" '
	echo "# tweak" >> train.py && git commit -qam "tweak the trainer"
	c=$(xtrk commit-run -e exp -P params.yaml -d data --model model.bin)
	xtrk diff --json $b $c > s.json
	python3 - s.json <<-PY
	import json, sys
	s = json.load(open(sys.argv[1]))["source"]
	assert s["commits_between"] == 1, s
	assert s["commits"][0]["subject"] == "tweak the trainer", s
	PY
	expect_contains "$(xtrk diff --source $b $c)" "1 commit apart"
'
check "without RUN2 the workspace is compared, nothing written" '
	before=$(store_listing)
	echo more >> data/f1.csv
	sed -i "s/batch: 32/batch: 64/" params.yaml
	xtrk diff --json exp > w.json
	python3 - w.json <<-PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["b"] is None
	assert d["datasets"][0]["modified"] == ["data/f1.csv"], d["datasets"]
	assert d["params"]["changed"] == {"batch": [32, 64]}, d["params"]
	assert d["metrics"] == {}
	PY
	expect_eq "$(store_listing)" "$before"
'
check "a missing path in the workspace is reported" '
	mv model.bin model.away
	out=$(xtrk diff exp)
	mv model.away model.bin
	expect_contains "$out" "missing models model.bin"
'
check "unknown runs are errors" '
	expect_exit 1 xtrk diff nope
	expect_exit 2 xtrk diff
'
finish
