#!/usr/bin/env python3
"""One page of an S3 ListObjectsV2 answer (XML on stdin): s3obj.py NEXTFILE prints "KEY SIZE" for each
object, and writes the continuation token to NEXTFILE when the listing goes on (empties it otherwise)."""
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.stdin.buffer).getroot()
ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
for c in root.iter(ns + "Contents"):
    print(c.findtext(ns + "Key"), c.findtext(ns + "Size"))
more = root.findtext(ns + "IsTruncated") == "true"
with open(sys.argv[1], "w") as f:
    f.write(root.findtext(ns + "NextContinuationToken") or "" if more else "")
