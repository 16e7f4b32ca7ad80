#!/bin/sh
# Two runs of the digits example with different learning rates, then what changed between them.
# Usage: contrib/examples/run_torch_example.sh [PYTHON]   (run inside an xtrk workspace)
set -e
PY=${1:-python3}
here=$(cd "$(dirname "$0")" && pwd)
xtrk run -e digits -m "lr 0.05" --seed 0 -- "$PY" "$here/torch_digits.py" --lr 0.05 --seed 0
xtrk run -e digits -m "lr 0.01" --seed 0 -- "$PY" "$here/torch_digits.py" --lr 0.01 --seed 0
xtrk diff --params --metrics --data digits~1 digits
