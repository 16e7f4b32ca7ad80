#!/bin/sh
# The PyTorch example (contrib/examples) under xtrk run; skipped where torch and sklearn are not installed.
. "$(dirname "$0")/lib.sh"

PY=""
for p in python3 /usr/bin/python3; do
	if "$p" -c "import torch, sklearn" 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || skip_all "torch and sklearn are not installed (apt-get install python3-torch python3-sklearn)"

new_git_repo
xtrk init -q   # Python capture on: the torch version must be recorded
EX=$XTRK_TEST_SRCDIR/contrib/examples

check "two runs with different learning rates, then diff" '
	PATH=$(dirname "$XTRK_BIN"):$PATH sh "$EX/run_torch_example.sh" "$PY" > out 2> err
	grep -q "test accuracy" out
	expect_contains "$(cat out)" "lr: 0.05 -> 0.01"
	expect_contains "$(cat out)" "accuracy"
'
check "the run has one loss per epoch, the accuracy, the seed, the model and stdout" '
	j=$(xtrk show --json digits~1)
	expect_eq "$(xtrk cat-object $(echo "$j" | json_get series) | wc -l)" 20
	test "$(echo "$j" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"metrics\"][\"accuracy\"] > 0.8)")" = True
	expect_eq "$(echo "$j" | json_get seed)" 0
	expect_eq "$(echo "$j" | json_get models.0.path)" model.pt
	xtrk cat-object $(echo "$j" | json_get logs.stdout) | grep "epoch 19" >/dev/null
'
check "the model ID is what xxhsum -H2 prints for the saved file" '
	expect_eq "$(xtrk show --json digits | json_get models.0.id)" "$(xxhsum -H2 model.pt | cut -d" " -f1)"
'
check "torch and numpy versions are recorded from the interpreter that ran it" '
	j=$(xtrk show --json digits)
	# the version its installed distribution declares (Debian: 1.13.0a0+gitunknown, where
	# torch.__version__ says 1.13.0a0), as pip shows it
	expect_eq "$(echo "$j" | json_get env.python.packages.torch)" "$($PY -c "import importlib.metadata as m; print(m.version(\"torch\"))")"
	echo "$j" | json_get env.python.packages.numpy | grep -Eq "^[0-9]"
'
check "the same seed and params give the same weights" '
	id1=$(xtrk show --json digits | json_get models.0.id)
	xtrk run -e again --seed 0 -- "$PY" "$EX/torch_digits.py" --lr 0.01 --seed 0 >/dev/null 2>&1
	expect_eq "$(xtrk show --json again | json_get models.0.id)" "$id1"
'
finish
