#!/usr/bin/env python3
"""Write hostile variants of a good xtrk bundle, for the import-refusal tests.

usage: mkbundle.py GOOD.tar CASE OUT.tar [ARG [ARG2]]

GOOD.tar is a bundle made by `xtrk bundle create`; CASE names what to break.
Objects whose content changes are renamed to their new XXH3-128 ID (computed
with xxhsum -H2) and the manifest is rewritten to match, so each case breaks
exactly one rule.
"""
import io
import json
import subprocess
import sys
import tarfile

good, case, out = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
arg2 = sys.argv[5] if len(sys.argv) > 5 else None

with tarfile.open(good) as t:
    entries = [(m, t.extractfile(m).read() if m.isfile() else b"") for m in t.getmembers()]


def xxh(data):
    p = subprocess.run(["xxhsum", "-H2", "-"], input=data, capture_output=True, check=True)
    return p.stdout.split()[0].decode()


def reg(name, data):
    m = tarfile.TarInfo(name)
    m.size = len(data)
    m.mode = 0o644
    return (m, data)


def special(name, kind, target=""):
    m = tarfile.TarInfo(name)
    m.type = kind
    m.linkname = target
    return (m, b"")


def find(prefix):
    return next(i for i, (m, _) in enumerate(entries) if m.name.startswith(prefix))


def manifest():
    i = find("xtrk-bundle.json")
    return i, json.loads(entries[i][1])


def set_manifest(m):
    i, _ = manifest()
    entries[i] = reg("xtrk-bundle.json", json.dumps(m).encode())


def replace_run_record(mutate):
    """Change the run record, give it its new ID everywhere, keep everything else consistent."""
    i = find("objects/") # runs come first among objects
    old = entries[i][0].name[len("objects/"):-len(".run")]
    rec = json.loads(entries[i][1])
    mutate(rec)
    data = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
    new = xxh(data)
    entries[i] = reg("objects/%s.run" % new, data)
    s = find("runs/")
    summ = dict(rec, id=new, tags=json.loads(entries[s][1]).get("tags", []))
    entries[s] = reg("runs/%s.json" % new, json.dumps(summ).encode())
    _, m = manifest()
    for r in m["runs"]:
        if r["id"] == old:
            r["id"] = new
    for o in m["objects"]:
        if o[0] == old:
            o[0], o[2] = new, len(data)
    m["bytes"] = sum(o[2] for o in m["objects"])
    set_manifest(m)


obj = find("objects/")
blob = next((i for i, (m, _) in enumerate(entries) if m.name.endswith(".blob")), None)
if case == "dotdot":
    entries.append(reg("objects/../../marker", b"owned\n"))
elif case == "absolute":
    entries.append(reg(arg, b"owned\n"))
elif case == "symlink":
    entries.insert(obj, special("objects/evil.blob", tarfile.SYMTYPE, arg or "/etc/passwd"))
elif case == "hardlink":
    entries.insert(obj, special("runs/evil.json", tarfile.LNKTYPE, "RUNBOOK.md"))
elif case == "device":
    m = tarfile.TarInfo("objects/dev.blob")
    m.type, m.devmajor, m.devminor = tarfile.CHRTYPE, 1, 3
    entries.insert(obj, (m, b""))
elif case == "fifo":
    entries.insert(obj, special("objects/fifo.blob", tarfile.FIFOTYPE))
elif case == "reserved":
    entries.insert(obj, reg(arg, b"[core]\n"))
elif case == "duplicate":
    entries.append(entries[blob])
elif case == "badhash":
    m, data = entries[blob]
    entries[blob] = (m, bytes([data[0] ^ 1]) + data[1:])
elif case == "bomb":
    # one object declared tiny, carried huge: a few hundred KiB compressed
    m, _ = entries[blob]
    big = tarfile.TarInfo(m.name)
    big.size = 64 << 20
    entries[blob] = (big, None)
elif case == "truncated":
    pass
elif case == "many":
    for k in range(int(arg)):
        entries.append(reg("objects/%032x.blob" % k, b""))
elif case == "longpath":
    entries.insert(obj, reg("objects/" + "a" * 300, b"x"))
elif case == "badjson":
    i, _ = manifest()
    entries[i] = reg("xtrk-bundle.json", entries[i][1][:-5] + b",,}")
elif case == "manifest-type":
    _, m = manifest()
    m["objects"] = "everything"
    set_manifest(m)
elif case == "run-type":
    replace_run_record(lambda r: r.__setitem__("datasets", "all of them"))
elif case == "run-path":
    replace_run_record(lambda r: r["datasets"][0].__setitem__("path", "../../outside"))
elif case == "run-untracked":
    replace_run_record(lambda r: r["source"].__setitem__(
        "untracked_content", {"id": "../../outside", "files": 1, "bytes": 1, "skipped": []}))
elif case == "patch":
    # the run's recorded source patch replaced by the git diff in the file ARG
    data = open(arg, "rb").read()
    pid = xxh(data)
    old = json.loads(entries[find("objects/")][1])["source"]["patch"]
    i = next(k for k, (m, _) in enumerate(entries) if m.name == "objects/%s.blob" % old)
    entries[i] = reg("objects/%s.blob" % pid, data)
    _, m = manifest()
    for o in m["objects"]:
        if o[0] == old:
            o[0], o[2] = pid, len(data)
    m["bytes"] = sum(o[2] for o in m["objects"])
    set_manifest(m)
    replace_run_record(lambda r: r["source"].__setitem__("patch", pid))
elif case == "untracked-name":
    # the run's untracked files: one file named ARG (a tree built here), content an existing blob
    bm, bdata = entries[blob]
    bid = bm.name[len("objects/"):-len(".blob")]
    tree = ("100644 blob %s %d 1\t%s\n" % (bid, len(bdata), arg)).encode()
    tid = xxh(tree)
    entries.insert(blob, reg("objects/%s.tree" % tid, tree))
    _, m = manifest()
    m["objects"].append([tid, "tree", len(tree)])
    m["bytes"] = sum(o[2] for o in m["objects"])
    set_manifest(m)
    replace_run_record(lambda r: r["source"].__setitem__(
        "untracked_content", {"id": tid, "files": 1, "bytes": len(bdata), "skipped_files": 0, "skipped": []}))
elif case == "script-name":
    # a script run from outside the repository, stored under the absolute path ARG
    bm, bdata = entries[blob]
    bid = bm.name[len("objects/"):-len(".blob")]
    replace_run_record(lambda r: r["source"].__setitem__("scripts", [{"path": arg, "id": bid, "bytes": len(bdata)}]))
elif case == "source-commit":
    # the run's source is commit ARG2 carried in the git pack file ARG (no patch)
    pack = open(arg, "rb").read()
    i = next(k for k, (m, _) in enumerate(entries) if m.name == "source.pack")
    entries[i] = reg("source.pack", pack)
    _, m = manifest()
    m["source"] = {"bytes": len(pack), "commits": [arg2]}
    set_manifest(m)
    def point(r):
        r["source"]["commit"] = arg2
        r["source"]["patch"] = None
        r["source"]["dirty"] = False
    replace_run_record(point)
elif case == "run-set":
    # ARG: a JSON object whose members replace the run record's (hostile text in any field)
    replace_run_record(lambda r: r.update(json.loads(arg, strict=False)))
elif case == "record-set":
    # ARG is FIELD=JSON (FIELD may be dotted: source.branch, datasets.0.kind)
    field, value = arg.split("=", 1)

    def setf(r):
        *path, last = field.split(".")
        for p in path:
            r = r[int(p)] if isinstance(r, list) else r[p]
        r[int(last) if isinstance(r, list) else last] = json.loads(value)
    replace_run_record(setf)
elif case == "record-del":
    replace_run_record(lambda r: r.pop(arg))
elif case == "summary-tags":
    # the bundle's run summary carries these tags (ARG: a JSON list)
    s = find("runs/")
    summ = json.loads(entries[s][1])
    summ["tags"] = json.loads(arg)
    entries[s] = reg(entries[s][0].name, json.dumps(summ).encode())
elif case == "kind-confusion":
    # ARG "blob-is-tree": a model marked kind blob names the dataset's tree;
    # "tree-is-blob": a dataset marked kind tree names the model's blob
    def confuse(r):
        tree = next(d for d in r["datasets"] if d["kind"] == "tree")
        blob = next(d for d in r["models"] if d["kind"] == "blob")
        if arg == "blob-is-tree":
            blob["id"] = tree["id"]
        else:
            tree["id"] = blob["id"]
    replace_run_record(confuse)
elif case == "dir":
    # a folder entry (ARG: its name, e.g. objects/ or runs/)
    entries.insert(obj, special(arg, tarfile.DIRTYPE))
elif case == "packbomb":
    # a source pack of one git blob of ARG MiB of zeros (a 1 GiB blob packs into about 1 MiB)
    import hashlib
    import zlib
    size = int(arg) << 20
    n, hdr = size >> 4, [0x30 | (size & 15)]  # type 3: blob
    while n:
        hdr[-1] |= 0x80
        hdr.append(n & 0x7f)
        n >>= 7
    parts = [b"PACK\0\0\0\2\0\0\0\1", bytes(hdr)]
    z, zero = zlib.compressobj(9), bytes(1 << 20)
    for _ in range(size >> 20):
        parts.append(z.compress(zero))
    parts.append(z.flush())
    pack = b"".join(parts)
    pack += hashlib.sha1(pack).digest()
    _, m = manifest()
    m["source"] = {"bytes": len(pack), "commits": []}
    set_manifest(m)
    entries.append(reg("source.pack", pack))
elif case == "deltabomb":
    # a source pack of a 16 MiB blob of zeros and an offset delta on it that copies it over and
    # over: ARG MiB of result from a few hundred bytes of delta
    import hashlib
    import zlib

    def entry(t, size, extra, data):
        n, hdr = size >> 4, [(t << 4) | (size & 15)]
        while n:
            hdr[-1] |= 0x80
            hdr.append(n & 0x7f)
            n >>= 7
        return bytes(hdr) + extra + zlib.compress(data, 9)

    def varint(v):
        out = [v & 0x7f]
        v >>= 7
        while v:
            out[-1] |= 0x80
            out.append(v & 0x7f)
            v >>= 7
        return bytes(out)

    def ofs(v):
        out = [v & 0x7f]
        v >>= 7
        while v:
            v -= 1
            out.insert(0, 0x80 | (v & 0x7f))
            v >>= 7
        return bytes(out)
    piece = 0xffffff
    copies = max(1, (int(arg) << 20) // piece)
    base = entry(3, 16 << 20, b"", bytes(16 << 20))
    delta = varint(16 << 20) + varint(copies * piece) + bytes([0xf0, 0xff, 0xff, 0xff]) * copies
    pack = b"PACK\0\0\0\2\0\0\0\2" + base
    pack += entry(6, len(delta), ofs(len(base)), delta)
    pack += hashlib.sha1(pack).digest()
    _, m = manifest()
    m["source"] = {"bytes": len(pack), "commits": []}
    set_manifest(m)
    entries.append(reg("source.pack", pack))
elif case == "big-entry":
    # RUNBOOK.md carried as ARG MiB of zeros: over the limit, refused unread (write OUT as .tar.gz)
    i = find("RUNBOOK.md")
    big = tarfile.TarInfo("RUNBOOK.md")
    big.size = int(arg) << 20
    entries[i] = (big, None)
elif case == "no-manifest":
    del entries[find("xtrk-bundle.json")]
elif case in ("doc-changed", "report-changed"):
    # a byte of RUNBOOK.md / report.html changed; the manifest still declares the old one
    name = "RUNBOOK.md" if case == "doc-changed" else "report.html"
    i = find(name)
    data = bytearray(entries[i][1])
    data[len(data) // 2] ^= 0x20
    entries[i] = reg(name, bytes(data))
elif case == "report-added":
    # a report.html the manifest does not declare (a bundle made with --no-report, then added to)
    m = manifest()[1]
    assert "report.html" not in m["documents"]
    entries.insert(find("xtrk-bundle.json"), reg("report.html", b"<script>alert(1)</script>"))
elif case == "doc-missing":
    del entries[find("RUNBOOK.md")]
elif case == "doc-bad":
    m = manifest()[1]
    m["documents"]["evil.sh"] = m["documents"]["RUNBOOK.md"]
    set_manifest(m)
elif case == "doc-old":
    # a bundle from before documents were declared: still read
    m = manifest()[1]
    del m["documents"]
    set_manifest(m)
else:
    sys.exit("unknown case " + case)


class Zeros(io.RawIOBase):
    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


with tarfile.open(out, "w:gz" if out.endswith(".gz") else "w", format=tarfile.PAX_FORMAT) as t:
    for m, data in entries:
        if data is None:
            t.addfile(m, io.BufferedReader(Zeros(m.size)))
        else:
            t.addfile(m, io.BytesIO(data) if m.isfile() else None)
if case == "truncated":
    raw = open(out, "rb").read()
    open(out, "wb").write(raw[: len(raw) * 2 // 3])
