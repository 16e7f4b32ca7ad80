#!/usr/bin/env python3
"""Edit the audit chains a bundle's manifest or an S3 remote's index carries, for the refusal tests.

usage: auditedit.py bundle GOOD.tar OUT.tar CODE
       auditedit.py index INDEX.json CODE        (edited in place)

CODE is Python run with M (the manifest or index), C (its "audit" chains) and L (the first chain's
lines) in scope, and these helpers: h(text), xtrk's hash of a line (XXH3-128 through xxhsum -H2);
line(entry), an entry in the exact form xtrk writes (compact, keys sorted, jansson's escapes);
rechain(L), which renumbers and re-links L and names C[0] by its new first line, so that the
chain is intact and only the edit is wrong.
"""
import io
import json
import re
import subprocess
import sys
import tarfile


def h(s):
    return subprocess.run(["xxhsum", "-H2", "-"], input=s.encode(), capture_output=True,
                          check=True).stdout.split()[0].decode()


def line(e):
    text = json.dumps(e, sort_keys=True, separators=(",", ":"))
    return re.sub(r"\\u00([0-9a-f]{2})", lambda m: "\\u00" + m.group(1).upper(), text)


def rechain(L):
    prev = "0" * 32
    for i in range(len(L)):
        e = json.loads(L[i])
        e["seq"] = i + 1
        e["prev"] = prev
        L[i] = line(e)
        prev = h(L[i])
    C[0]["origin"] = h(L[0])


def edit(doc, code):
    global M, C, L
    M = doc
    C = M["audit"]
    L = C[0]["entries"]
    exec(code, globals())
    return M


if sys.argv[1] == "bundle":
    with tarfile.open(sys.argv[2]) as t:
        entries = [(m, t.extractfile(m).read()) for m in t.getmembers()]
    i = next(k for k, (m, _) in enumerate(entries) if m.name == "xtrk-bundle.json")
    data = json.dumps(edit(json.loads(entries[i][1]), sys.argv[4])).encode()
    m = tarfile.TarInfo("xtrk-bundle.json")
    m.size = len(data)
    m.mode = 0o644
    entries[i] = (m, data)
    with tarfile.open(sys.argv[3], "w") as t:
        for m, d in entries:
            t.addfile(m, io.BytesIO(d))
else:
    doc = edit(json.load(open(sys.argv[2])), sys.argv[3])
    json.dump(doc, open(sys.argv[2], "w"))
