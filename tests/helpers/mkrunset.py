#!/usr/bin/env python3
"""Write a bundle holding many crafted runs at once, to build a large store fast.

usage: mkrunset.py GOOD.tar SPEC.json OUT.tar

GOOD.tar is a bundle of one run made by `xtrk bundle create` (no data files);
its record is the template.  SPEC.json is a list of runs, each an object
whose members replace the template's (experiment, message, started, ended,
status, metrics, notes, ...) plus "tags" (a list: the tags the bundle carries
for the run).  Each record gets its XXH3-128 ID (xxhsum -H2, one call for all).
"""
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

good, spec, out = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(good) as t:
    members = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
template = json.loads(next(v for k, v in members.items() if k.endswith(".run")))
runs = json.load(open(spec))

records = []
for r in runs:
    rec = dict(template)
    rec.update({k: v for k, v in r.items() if k != "tags"})
    records.append(json.dumps(rec, sort_keys=True, separators=(",", ":")).encode())

with tempfile.TemporaryDirectory() as d:
    paths = []
    for i, data in enumerate(records):
        p = os.path.join(d, "%06d" % i)
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    got = subprocess.run(["xxhsum", "-H2"] + paths, capture_output=True, check=True).stdout.decode().split("\n")
    ids = {line.split()[-1]: line.split()[0] for line in got if line.strip()}
    ids = [ids[p] for p in paths]


def reg(name, data):
    m = tarfile.TarInfo(name)
    m.size = len(data)
    m.mode = 0o644
    m.mtime = 1700000000
    return m, io.BytesIO(data)


manifest = json.loads(members["xtrk-bundle.json"])
manifest["runs"] = [{"experiment": r["experiment"], "id": i, "tags": r.get("tags", [])} for r, i in zip(runs, ids)]
manifest["objects"] = [[i, "run", len(data)] for i, data in zip(ids, records)]
manifest["bytes"] = sum(len(data) for data in records)
if "documents" in manifest:  # RUNBOOK.md travels as it was; report.html is left out
    manifest["documents"] = {"RUNBOOK.md": manifest["documents"]["RUNBOOK.md"]}
with tarfile.open(out, "w") as t:
    t.addfile(*reg("RUNBOOK.md", members["RUNBOOK.md"]))
    t.addfile(*reg("xtrk-bundle.json", json.dumps(manifest).encode()))
    for r, i, data in zip(runs, ids, records):
        summ = dict(json.loads(data), id=i, tags=r.get("tags", []))
        t.addfile(*reg("runs/%s.json" % i, json.dumps(summ).encode()))
    for i, data in zip(ids, records):
        t.addfile(*reg("objects/%s.run" % i, data))
for i in ids:
    print(i)
