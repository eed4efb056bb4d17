// Round trip through bucketd's S3 endpoint with the JavaScript SDK v3
// (@aws-sdk/client-s3): it sends every upload aws-chunked with a CRC32
// trailer, even over plain http, and a CRC64NVME when asked. Usage: node node_roundtrip.mjs ENDPOINT BUCKET DATA_DIR
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, DeleteObjectsCommand, CreateMultipartUploadCommand, UploadPartCommand,
  CompleteMultipartUploadCommand,
} from "@aws-sdk/client-s3";
import fs from "fs";
import path from "path";

const [endpoint, bucket, dataDir] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: "ap-south-1", forcePathStyle: true, maxAttempts: 1 });
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
const requests = {};
for (const name of fs.readdirSync(dataDir).sort()) {
  const data = fs.readFileSync(path.join(dataDir, name));
  const key = "in/" + name;
  if (data.length > 8 << 20) {
    const partSize = 8 << 20;
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const parts = [];
    for (let i = 0, n = 1; i < data.length; i += partSize, n++) {
      const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: n,
                                                      Body: data.subarray(i, i + partSize) }));
      parts.push({ ETag: r.ETag, PartNumber: n });
    }
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId,
                                                                    MultipartUpload: { Parts: parts } }));
    requests[key] = done.$metadata.requestId;
  } else {
    const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
    requests[key] = r.$metadata.requestId;
  }
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: "ENABLED" }));
  const back = Buffer.from(await got.Body.transformToByteArray());
  if (!back.equals(data)) throw new Error(`${key}: ${back.length} bytes back, ${data.length} sent, or other bytes`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (head.ContentLength !== data.length) throw new Error(`${key}: HEAD says ${head.ContentLength}`);
}
// CRC64NVME: this SDK computes it in JavaScript (no CRT), as a trailer; the
// value bucketd stored comes back and the SDK checks it against the bytes.
{
  const data = Buffer.from("123456789");
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "crc64/check", Body: data, ChecksumAlgorithm: "CRC64NVME" }));
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "crc64/check", ChecksumMode: "ENABLED" }));
  await got.Body.transformToByteArray();
  // 0xAE8B14860A799888, the algorithm's check value, in base64.
  if (got.ChecksumCRC64NVME !== Buffer.from("ae8b14860a799888", "hex").toString("base64")) {
    throw new Error("CRC64NVME: " + got.ChecksumCRC64NVME);
  }
}
const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "in/" }));
const keys = (listed.Contents || []).map((o) => o.Key);
if (JSON.stringify(keys) !== JSON.stringify(Object.keys(requests).sort())) throw new Error("listing: " + keys);
const gone = Object.keys(requests).sort()[0];
const d = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: gone }] } }));
if (!d.Deleted || d.Deleted[0].Key !== gone) throw new Error("DeleteObjects: " + JSON.stringify(d));
console.log(JSON.stringify({ requests, deleted: gone, delete_request: d.$metadata.requestId }));
