#!/usr/bin/env python3
"""Plant objects straight into an xtrk store, as a hostile remote or an older xtrk could have left them.

usage: putobj.py WS blob|tree|run FILE          store FILE's bytes as an object, print its ID
       putobj.py WS derive RUN EXP JSON         store RUN's record (read with `xtrk cat-object`) with
                                                JSON merged into its "source", file it under
                                                experiment EXP, print the new run's ID

Objects are written loose and uncompressed: the 32-byte header ("XTRK", version 1,
type, compression 0, reserved, le64 size, 16-byte ID) then the content.
"""
import json
import os
import struct
import subprocess
import sys

TYPES = {"blob": 1, "tree": 2, "run": 3}


def xxh(data):
    p = subprocess.run(["xxhsum", "-H2", "-"], input=data, capture_output=True, check=True)
    return p.stdout.split()[0].decode()


def put(ws, kind, data):
    oid = xxh(data)
    d = os.path.join(ws, ".xtrk", "objects", oid[:2])
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, oid[2:])
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(b"XTRK" + bytes([1, TYPES[kind], 0, 0]) + struct.pack("<Q", len(data)) + bytes.fromhex(oid))
            f.write(data)
        os.chmod(path, 0o444)
    return oid


ws, what = sys.argv[1], sys.argv[2]
if what == "derive":
    run, exp, merge = sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
    xtrk = os.environ.get("XTRK_BIN", "xtrk")
    rec = json.loads(subprocess.run([xtrk, "-C", ws, "cat-object", run], capture_output=True, check=True).stdout)
    rec.pop("id", None)
    rec["experiment"] = exp
    rec.setdefault("source", {}).update(merge)
    oid = put(ws, "run", json.dumps(rec, sort_keys=True, separators=(",", ":")).encode())
    d = os.path.join(ws, ".xtrk", "refs", "experiments", exp)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, oid), "w").close()
    print(oid)
else:
    print(put(ws, what, open(sys.argv[3], "rb").read()))
