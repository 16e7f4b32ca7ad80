#!/usr/bin/env python3
"""Read and write a test bucket behind xtrk's back: s3obj.py ENDPOINT BUCKET get|put|list|delete|copy [KEY [FILE]]."""
import sys

import boto3

endpoint, bucket, op = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
if op == "get":
    sys.stdout.buffer.write(s3.get_object(Bucket=bucket, Key=sys.argv[4])["Body"].read())
elif op == "put":
    with open(sys.argv[5], "rb") as f:
        s3.put_object(Bucket=bucket, Key=sys.argv[4], Body=f.read())
elif op == "delete":
    s3.delete_object(Bucket=bucket, Key=sys.argv[4])
elif op == "copy":  # copy PREFIX NEWPREFIX: every object under PREFIX/ to NEWPREFIX/
    src, dst = sys.argv[4].rstrip("/") + "/", sys.argv[5].rstrip("/") + "/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=src):
        for o in page.get("Contents", []):
            s3.copy_object(Bucket=bucket, Key=dst + o["Key"][len(src):], CopySource={"Bucket": bucket, "Key": o["Key"]})
elif op == "list":
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=sys.argv[4] if len(sys.argv) > 4 else ""):
        for o in page.get("Contents", []):
            print(o["Key"], o["Size"])
else:
    sys.exit("unknown operation " + op)
