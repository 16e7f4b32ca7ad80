#!/bin/bash
# Device check: does xtrk's environment capture read the real NVIDIA card, driver and CUDA?
set -u
# Usage: copy xtrk and the shared libraries it needs (ldd) into one folder with this
# script, run it on a machine with an NVIDIA GPU; it ends with DEVICE CHECK PASSED or FAILED.
D=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH=$D/lib
X=$D/xtrk
echo "== nvidia-smi"; nvidia-smi --query-gpu=name,driver_version,memory.total,pci.bus_id --format=csv,noheader
nvidia-smi | grep -o "CUDA Version: *[0-9.]*"
echo "== os"; head -2 /etc/os-release; ldd --version | head -1; which python3; python3 --version
W=/tmp/xtrk-gpu; rm -rf $W; mkdir -p $W && cd $W
git init -q . 2>/dev/null; git config user.name dev; git config user.email dev@x
echo "print(1)" > train.py; git add . && git commit -qm one
$X init || { echo "xtrk failed to start"; ldd $X | grep "not found"; exit 1; }
echo "== commit-run (python capture on, first run)"
/usr/bin/time -f "%e s, %M KiB" $X commit-run -e gpu -m "device check" > id.txt
echo "== commit-run (cached python)"
/usr/bin/time -f "%e s, %M KiB" $X commit-run -e gpu -m again > id2.txt
$X show --json "$(cat id.txt)" > $OUT/run.json
$X show gpu | sed -n '/environment:/,$p' | head -20
python3 - $OUT/run.json <<'PY'
import json, subprocess, sys
r = json.load(open(sys.argv[1]))
e = r["env"]
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip().splitlines()
print("gpus recorded:", json.dumps(e["gpus"]))
print("cuda:", e["cuda"])
ok = len(e["gpus"]) == len(smi) and all(g["name"] == s.split(", ")[0] and g["driver"] == s.split(", ")[1]
                                         for g, s in zip(e["gpus"], smi))
ok = ok and all(g["cuda"] for g in e["gpus"])
pk = (e.get("python") or {}).get("packages", {})
print("python", (e.get("python") or {}).get("version"), "packages:", len(pk), "torch:", pk.get("torch"))
print("vars:", sorted(e["vars"]))
print("DEVICE CHECK", "PASSED" if ok else "FAILED")
PY
$X fsck --read-data
