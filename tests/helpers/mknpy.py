#!/usr/bin/env python3
"""Craft NumPy .npy files with struct alone (no numpy): good ones of every
numeric dtype and hostile ones, for xtrk's profile tests.

    mknpy.py good      DIR   the good files, and DIR/expect.json: what each profile holds
    mknpy.py hostile   DIR   the hostile files, and DIR/expect.json: the problem each is refused with
    mknpy.py leak      DIR   train.npy and test.npy, test sharing 7 rows of train
"""
import json
import math
import os
import struct
import sys


def header(descr, shape, fortran=False):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
        descr if descr.startswith("[") else "'%s'" % descr, fortran, shape)


def write(path, text, data, ver=1, hlen=None, magic=b"\x93NUMPY", pad=True, raw_header=None, hdelta=0):
    pre = 10 if ver == 1 else 12
    h = raw_header if raw_header is not None else text.encode("latin1")
    if pad and raw_header is None:
        h += b" " * (63 - (pre + len(h)) % 64) + b"\n"
    n = len(h) + hdelta if hlen is None else hlen
    with open(path, "wb") as f:
        f.write(magic + bytes([ver, 0]))
        f.write(struct.pack("<H" if ver == 1 else "<I", n))
        f.write(h)
        f.write(data)


def shape_str(shape):
    return "(%s)" % ("".join("%d, " % d for d in shape) if len(shape) == 1 else ", ".join(str(d) for d in shape))


# Struct codes per dtype (item size, code); f2 is 'e'.
CODES = {"b1": "?", "i1": "b", "i2": "h", "i4": "i", "i8": "q", "u1": "B", "u2": "H", "u4": "I", "u8": "Q",
         "f2": "e", "f4": "f", "f8": "d"}


def pack(descr, values):
    order = "<" if descr[0] in "<|=" else ">"
    return struct.pack(order + "%d%s" % (len(values), CODES[descr[1:]]), *values)


def good(d):
    expect = {}
    # Every numeric dtype, both byte orders: 1, 2, 3, 0 (bool: True, False, True, True); signed ones with -5.
    for code in CODES:
        for order in ("<", ">") if code[1] != "1" else ("|",):
            descr = order + code
            if code == "b1":
                vals = [True, False, True, True]
                exp = {"type": "bool", "count": 4, "missing": 0}
            else:
                vals = [1, 2, 3, 0] + ([-5] if code[0] in "if" else [])
                exp = {"type": "number", "count": len(vals), "missing": 0, "min": min(vals), "max": max(vals),
                       "mean": sum(vals) / len(vals)}
            name = "t_%s_%s.npy" % ({"<": "le", ">": "be", "|": "na"}[order], code)
            write(os.path.join(d, name), header(descr, shape_str([len(vals)])), pack(descr, vals))
            expect[name] = {"rows": len(vals), "columns": [exp]}
    # NaN is missing, infinities counted apart, for each float width.
    for code in ("f2", "f4", "f8"):
        vals = [1.5, float("nan"), 2.5, float("inf"), float("nan"), -float("inf"), 3.5]
        name = "nan_%s.npy" % code
        write(os.path.join(d, name), header("<" + code, "(7,)"), pack("<" + code, vals))
        expect[name] = {"rows": 7, "columns": [{"type": "number", "count": 5, "missing": 2, "infinite": 2,
                                                "min": 1.5, "max": 3.5, "mean": 2.5}]}
    # 2-D, C order: a column per index of the second axis; header version 2.0.
    rows = [[i, 10 * i, -i] for i in range(1, 6)]
    write(os.path.join(d, "c2d.npy"), header(">i4", "(5, 3)"), pack(">i4", sum(rows, [])), ver=2)
    expect["c2d.npy"] = {"rows": 5, "columns": [
        {"name": "0", "min": 1, "max": 5, "mean": 3}, {"name": "1", "min": 10, "max": 50, "mean": 30},
        {"name": "2", "min": -5, "max": -1, "mean": -3}]}
    # The same array in Fortran order (column-major on disk); header version 3.0.
    write(os.path.join(d, "f2d.npy"), header("<f8", "(5, 3)", fortran=True),
          pack("<f8", [r[c] for c in range(3) for r in rows]), ver=3)
    expect["f2d.npy"] = {"rows": 5, "fingerprints": False, "columns": expect["c2d.npy"]["columns"]}
    # 300 columns: 256 profiled, all counted.
    write(os.path.join(d, "wide.npy"), header("<u2", "(2, 300)"), pack("<u2", list(range(600))))
    expect["wide.npy"] = {"rows": 2, "columns_total": 300, "ncolumns": 256,
                          "columns": [{"name": "0", "min": 0, "max": 300}]}
    # A 0-D array: one value.
    write(os.path.join(d, "scalar.npy"), header("<f4", "()"), pack("<f4", [7.0]))
    expect["scalar.npy"] = {"rows": 1, "columns": [{"min": 7, "max": 7, "count": 1}]}
    # No rows at all.
    write(os.path.join(d, "empty.npy"), header("<f8", "(0, 4)"), b"")
    expect["empty.npy"] = {"rows": 0, "columns_total": 4}
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump(expect, f)


def hostile(d):
    cases = {}

    def case(name, problem, **kw):
        write(os.path.join(d, name + ".npy"), **kw)
        cases[name + ".npy"] = problem

    f8 = pack("<f8", [1.0, 2.0, 3.0])
    case("huge_dim", "a size too large for any file", text=header("<f8", "(100000000000000000000,)"), data=f8)
    case("huge_shape", "the shape says 4611686018427387904 items", text=header("<f8", "(4611686018427387904,)"), data=f8)
    case("overflow", "too large for any file", text=header("<f8", "(4294967296, 4294967296, 4294967296)"), data=f8)
    case("negative", "negative size", text=header("<f8", "(-3,)"), data=f8)
    case("short_data", "the shape says 4 items of 8 bytes, and the file has 24 bytes", text=header("<f8", "(4,)"), data=f8)
    case("long_data", "the shape says 2 items of 8 bytes, and the file has 24 bytes", text=header("<f8", "(2,)"), data=f8)
    case("complex", "dtype '<c16' is not one xtrk profiles", text=header("<c16", "(3,)"), data=f8 * 2)
    case("object", "dtype '|O' is not one xtrk profiles", text=header("|O", "(3,)"), data=f8)
    case("unicode", "dtype '<U2' is not one xtrk profiles", text=header("<U2", "(3,)"), data=f8)
    case("f16", "dtype '<f16' is not one xtrk profiles", text=header("<f16", "(3,)"), data=f8 * 2)
    case("b2", "dtype '|b2' is not one xtrk profiles", text=header("|b2", "(3,)"), data=f8)
    case("noorder", "dtype 'f8' has no byte order", text=header("f8", "(3,)"), data=f8)
    case("structured", "structured dtype", text=header("[('a', '<f4'), ('b', '<i4')]", "(3,)"), data=f8)
    case("hlen_past_end", "the header claims 60000 bytes, and the file has", text=header("<f8", "(3,)"), data=f8, hlen=60000)
    case("hlen_huge", "the header claims 2147483648 bytes, more than", text=header("<f8", "(3,)"), data=f8, ver=2,
         hlen=2 ** 31)
    # The length stops inside the dict; one that runs into the data.
    case("hlen_short", "does the header's length lie", text=header("<f8", "(3,)"), data=f8, hlen=30)
    case("hlen_long", "not ASCII text in the header", text=header("<f8", "(2,)"),
         data=struct.pack("<2d", 1.5, -2.25), hdelta=8)
    # A length that stops inside the padding: the data is then 6 bytes too long.
    case("hlen_pad", "the shape says 2 items of 8 bytes, and the file has 22 bytes", text=header("<f8", "(2,)"),
         data=struct.pack("<2d", 1.5, -2.25), hdelta=-6)
    case("nonascii", "a byte 0xe9 that is not ASCII text in the header",
         text="{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'caf\xe9': 1}", data=f8)
    case("nul", "a byte 0x00 that is not ASCII", text="{'descr': '<f8',\x00 'fortran_order': False, 'shape': (3,), }",
         data=f8)
    case("junk_after", "text after the header's dict", text=header("<f8", "(3,)") + " junk", data=f8)
    case("dup_key", "names 'shape' twice", text="{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'shape': (3,)}",
         data=f8)
    case("extra_key", "a key 'extra'", text="{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1}", data=f8)
    case("no_shape", "the header lacks shape", text="{'descr': '<f8', 'fortran_order': False}", data=f8)
    case("bad_fortran", "fortran_order is neither True nor False",
         text="{'descr': '<f8', 'fortran_order': 1, 'shape': (3,)}", data=f8)
    case("not_dict", "the header is not a dict", text="['<f8', False, (3,)]", data=f8)
    case("bad_magic", "not a NumPy .npy file", text=header("<f8", "(3,)"), data=f8, magic=b"\x93NUMPX")
    case("version9", "a format version newer than 3.0", text=header("<f8", "(3,)"), data=f8, ver=9)
    case("version0", "format version 0 does not exist", text=header("<f8", "(3,)"), data=f8, ver=0)
    with open(os.path.join(d, "tiny.npy"), "wb") as f:
        f.write(b"\x93NUM")
    cases["tiny.npy"] = "not a NumPy .npy file"
    with open(os.path.join(d, "v2_cut.npy"), "wb") as f:
        f.write(b"\x93NUMPY\x02\x00\x10\x00")
    cases["v2_cut.npy"] = "the file ends inside its preamble"
    with open(os.path.join(d, "expect.json"), "w") as f:
        json.dump(cases, f)


def leak(d):
    train = [[float(i), float(i % 7), float(i * i % 11)] for i in range(200)]
    test = [[1000.0 + i, 1.0, 2.0] for i in range(50)] + [train[i * 13] for i in range(7)]
    write(os.path.join(d, "train.npy"), header("<f8", "(200, 3)"), pack("<f8", sum(train, [])))
    # The same rows as big-endian f4 values compare equal: fingerprints are of the values.
    write(os.path.join(d, "test.npy"), header(">f4", "(57, 3)"), pack(">f4", sum(test, [])))


if __name__ == "__main__":
    what, d = sys.argv[1], sys.argv[2]
    os.makedirs(d, exist_ok=True)
    {"good": good, "hostile": hostile, "leak": leak}[what](d)
