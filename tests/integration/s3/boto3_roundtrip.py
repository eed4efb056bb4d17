"""Round trip through bucketd's S3 endpoint with boto3 (whichever boto3 the
interpreter has): create a bucket, upload every file of DATA_DIR (upload_file:
multipart above 8 MiB), download and compare, HEAD, assemble an object from
UploadPartCopy parts (mp/copied), list, delete one object.
Prints one JSON object: {"requests": {key: request id of its write}, ...}.
Usage: boto3_roundtrip.py ENDPOINT BUCKET DATA_DIR"""
import hashlib
import json
import os
import sys

import boto3
import botocore.exceptions
from botocore.config import Config


def main():
    endpoint, bucket, data_dir = sys.argv[1:4]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-central-1",
                      config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    s3.create_bucket(Bucket=bucket)
    requests = {}
    for name in sorted(os.listdir(data_dir)):
        path = os.path.join(data_dir, name)
        with open(path, "rb") as f:
            data = f.read()
        key = "in/" + name
        if len(data) > 8 << 20:
            s3.upload_file(path, bucket, key)
            head = s3.head_object(Bucket=bucket, Key=key)
            requests[key] = None  # upload_file hides the request id of its completion
            assert head["ETag"].endswith("-%d\"" % ((len(data) + (8 << 20) - 1) // (8 << 20))), head["ETag"]
        else:
            r = s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/x-test",
                              Metadata={"origin": "boto3"})
            requests[key] = r["ResponseMetadata"]["RequestId"]
            assert r["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"] == requests[key]
            head = s3.head_object(Bucket=bucket, Key=key)
            assert head["ContentType"] == "text/x-test", head
            assert head["Metadata"] == {"origin": "boto3"}, head["Metadata"]
            assert head["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), head["ETag"]
        got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if got != data:
            sys.exit("%s: %d bytes back, %d sent, or different bytes" % (key, len(got), len(data)))
        assert head["ContentLength"] == len(data)
    # UploadPartCopy: a part from a range of one object, a part from a whole other.
    five = s3.get_object(Bucket=bucket, Key="in/c-5mib")["Body"].read()
    one = s3.get_object(Bucket=bucket, Key="in/b-one")["Body"].read()
    mp = s3.create_multipart_upload(Bucket=bucket, Key="mp/copied")
    p1 = s3.upload_part_copy(Bucket=bucket, Key="mp/copied", UploadId=mp["UploadId"], PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "in/c-5mib"}, CopySourceRange="bytes=0-%d" % (len(five) - 1))
    p2 = s3.upload_part_copy(Bucket=bucket, Key="mp/copied", UploadId=mp["UploadId"], PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "in/b-one"})
    assert p1["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(five).hexdigest(), p1
    s3.complete_multipart_upload(Bucket=bucket, Key="mp/copied", UploadId=mp["UploadId"], MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="mp/copied")["Body"].read() == five + one
    try:
        s3.upload_part_copy(Bucket=bucket, Key="mp/copied", UploadId="0" * 32, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "in/b-one"}, CopySourceRange="bytes=0-5")
        sys.exit("a range past the source's end was copied")
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] in ("InvalidArgument", "NoSuchUpload"), e.response
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="in/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert keys == sorted(requests), (keys, sorted(requests))
    gone = sorted(requests)[0]
    d = s3.delete_object(Bucket=bucket, Key=gone)
    print(json.dumps({"requests": requests, "deleted": gone, "delete_request": d["ResponseMetadata"]["RequestId"],
                      "boto3": boto3.__version__}))


if __name__ == "__main__":
    main()
