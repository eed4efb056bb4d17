// ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation,
// GetBucketVersioning, ListObjects (V1 and V2), ListObjectVersions.
#include <algorithm>

#include "api/s3_call.h"
#include "api/xml.h"
#include "common/time_format.h"
#include "sigv4/sigv4.h"

namespace bucketd::api {
namespace {

void AddOwner(pugi::xml_node parent, const Call& c) {
  pugi::xml_node owner = parent.append_child("Owner");
  AddText(owner, "ID", c.api.options.account);
  AddText(owner, "DisplayName", c.auth.principal.user_name);
}

// encoding-type=url: keys and prefixes percent-encoded (the CLI always asks,
// so keys with control characters survive XML).
std::string Encoded(const Call& c, const std::string& s) {
  const std::string* e = c.Query("encoding-type");
  return e != nullptr && *e == "url" ? sigv4::UriEncode(s, true) : s;
}

bool ParseMaxKeys(Call& c, int* max_keys) {
  *max_keys = 1000;
  const std::string* m = c.Query("max-keys");
  if (m == nullptr) return true;
  if (m->empty() || m->size() > 9 || !std::all_of(m->begin(), m->end(), ::isdigit)) {
    c.Fail(S3Error::Make(400, "InvalidArgument", "Provided max-keys not an integer or within integer range"));
    return false;
  }
  *max_keys = std::min(std::stoi(*m), 1000);
  return true;
}

std::string Param(const Call& c, const char* name) {
  const std::string* v = c.Query(name);
  return v != nullptr ? *v : "";
}

}  // namespace

void ListBuckets(Call& c) {
  c.operation = "ListBuckets";
  if (!c.Allowed("s3:ListAllMyBuckets", "arn:aws:s3:::*")) return;
  auto buckets = c.api.store.ListBuckets();
  if (!buckets.ok()) return c.FailStore(buckets.status());
  XmlOut x("ListAllMyBucketsResult");
  AddOwner(x.root(), c);
  pugi::xml_node list = x.root().append_child("Buckets");
  for (const auto& b : *buckets) {
    pugi::xml_node node = list.append_child("Bucket");
    AddText(node, "Name", b.name);
    AddText(node, "CreationDate", FormatRfc3339Millis(b.creation_date));
  }
  c.Xml(200, x.str());
}

void CreateBucket(Call& c) {
  c.operation = "CreateBucket";
  if (!c.Allowed("s3:CreateBucket", c.BucketArn())) return;
  std::string body;
  if (!ReadSmallBody(c, 64 << 10, &body)) return;  // CreateBucketConfiguration: any region is this one
  if (!body.empty()) {
    pugi::xml_document doc;
    if (Status s = ParseXml(body, &doc); !s.ok()) return c.Fail(S3Error::Make(400, "MalformedXML", s.message()));
  }
  Status s = c.api.store.CreateBucket(c.bucket);
  if (!s.ok()) return c.FailStore(s);
  c.Empty(200, {{"Location", "/" + c.bucket}});
}

void DeleteBucket(Call& c) {
  c.operation = "DeleteBucket";
  if (!c.Allowed("s3:DeleteBucket", c.BucketArn()) || !c.Writable()) return;
  Status s = c.api.store.DeleteBucket(c.bucket);
  if (!s.ok()) return c.FailStore(s);
  c.Empty(204);
}

void HeadBucket(Call& c) {
  c.operation = "HeadBucket";
  if (!c.Allowed("s3:ListBucket", c.BucketArn())) return;
  Status s = c.api.store.HeadBucket(c.bucket);
  if (!s.ok()) return c.FailStore(s);
  c.Empty(200, {{"x-amz-bucket-region", c.api.options.region}});
}

void GetBucketLocation(Call& c) {
  c.operation = "GetBucketLocation";
  if (!c.Allowed("s3:GetBucketLocation", c.BucketArn())) return;
  if (Status s = c.api.store.HeadBucket(c.bucket); !s.ok()) return c.FailStore(s);
  XmlOut x("LocationConstraint");
  x.root().append_child(pugi::node_pcdata).set_value(c.api.options.region.c_str());
  c.Xml(200, x.str());
}

void GetBucketVersioning(Call& c) {
  c.operation = "GetBucketVersioning";
  if (!c.Allowed("s3:GetBucketVersioning", c.BucketArn())) return;
  if (Status s = c.api.store.HeadBucket(c.bucket); !s.ok()) return c.FailStore(s);
  // Never versioned: S3 answers an empty configuration.
  c.Xml(200, XmlOut("VersioningConfiguration").str());
}

void ListObjects(Call& c, bool v2) {
  c.operation = v2 ? "ListObjectsV2" : "ListObjects";
  store::ListRequest lr;
  lr.prefix = Param(c, "prefix");
  lr.delimiter = Param(c, "delimiter");
  if (!ParseMaxKeys(c, &lr.max_keys)) return;
  if (!c.Allowed("s3:ListBucket", c.BucketArn(),
                 {{"s3:prefix", lr.prefix}, {"s3:delimiter", lr.delimiter}, {"s3:max-keys", std::to_string(lr.max_keys)}})) {
    return;
  }
  if (v2) {
    lr.start_after = Param(c, "start-after");
    lr.continuation_token = Param(c, "continuation-token");
  } else {
    lr.start_after = Param(c, "marker");
  }
  auto result = c.api.store.ListObjectsV2(c.bucket, lr);
  if (!result.ok()) {
    if (result.status().code() == StatusCode::kInvalidArgument && !lr.continuation_token.empty()) {
      return c.Fail(S3Error::Make(400, "InvalidArgument", "The continuation token provided is incorrect"));
    }
    return c.FailStore(result.status());
  }
  XmlOut x("ListBucketResult");
  pugi::xml_node root = x.root();
  AddText(root, "Name", c.bucket);
  AddText(root, "Prefix", Encoded(c, lr.prefix));
  if (v2) {
    AddText(root, "KeyCount", std::to_string(result->key_count));
    if (!lr.continuation_token.empty()) AddText(root, "ContinuationToken", lr.continuation_token);
    if (result->is_truncated) AddText(root, "NextContinuationToken", result->next_continuation_token);
    if (!lr.start_after.empty()) AddText(root, "StartAfter", Encoded(c, lr.start_after));
  } else {
    AddText(root, "Marker", Encoded(c, lr.start_after));
    if (result->is_truncated) {
      // The last key or prefix listed: where the next page starts.
      std::string last = result->contents.empty() ? "" : result->contents.back().key;
      if (!result->common_prefixes.empty() && result->common_prefixes.back() > last) {
        last = result->common_prefixes.back();
      }
      AddText(root, "NextMarker", Encoded(c, last));
    }
  }
  AddText(root, "MaxKeys", std::to_string(lr.max_keys));
  if (!lr.delimiter.empty()) AddText(root, "Delimiter", Encoded(c, lr.delimiter));
  if (c.Query("encoding-type") != nullptr) AddText(root, "EncodingType", *c.Query("encoding-type"));
  AddText(root, "IsTruncated", result->is_truncated ? "true" : "false");
  bool owner = !v2 || Param(c, "fetch-owner") == "true";
  for (const auto& o : result->contents) {
    pugi::xml_node node = root.append_child("Contents");
    AddText(node, "Key", Encoded(c, o.key));
    AddText(node, "LastModified", FormatRfc3339Millis(o.last_modified));
    AddText(node, "ETag", o.etag);
    AddText(node, "Size", std::to_string(o.size));
    AddText(node, "StorageClass", "STANDARD");
    if (owner) AddOwner(node, c);
  }
  for (const auto& p : result->common_prefixes) AddText(root.append_child("CommonPrefixes"), "Prefix", Encoded(c, p));
  c.Xml(200, x.str());
}

void ListObjectVersions(Call& c) {
  c.operation = "ListObjectVersions";
  store::ListRequest lr;
  lr.prefix = Param(c, "prefix");
  lr.delimiter = Param(c, "delimiter");
  lr.start_after = Param(c, "key-marker");
  if (!ParseMaxKeys(c, &lr.max_keys)) return;
  if (!c.Allowed("s3:ListBucketVersions", c.BucketArn(), {{"s3:prefix", lr.prefix}})) return;
  auto result = c.api.store.ListObjectsV2(c.bucket, lr);
  if (!result.ok()) return c.FailStore(result.status());
  XmlOut x("ListVersionsResult");
  pugi::xml_node root = x.root();
  AddText(root, "Name", c.bucket);
  AddText(root, "Prefix", Encoded(c, lr.prefix));
  AddText(root, "KeyMarker", Encoded(c, lr.start_after));
  AddText(root, "VersionIdMarker", Param(c, "version-id-marker"));
  if (result->is_truncated) {
    std::string last = result->contents.empty() ? "" : result->contents.back().key;
    if (!result->common_prefixes.empty() && result->common_prefixes.back() > last) last = result->common_prefixes.back();
    AddText(root, "NextKeyMarker", Encoded(c, last));
    AddText(root, "NextVersionIdMarker", "null");
  }
  AddText(root, "MaxKeys", std::to_string(lr.max_keys));
  if (!lr.delimiter.empty()) AddText(root, "Delimiter", Encoded(c, lr.delimiter));
  if (c.Query("encoding-type") != nullptr) AddText(root, "EncodingType", *c.Query("encoding-type"));
  AddText(root, "IsTruncated", result->is_truncated ? "true" : "false");
  for (const auto& o : result->contents) {
    // An unversioned bucket: every object is its one "null" version.
    pugi::xml_node node = root.append_child("Version");
    AddText(node, "Key", Encoded(c, o.key));
    AddText(node, "VersionId", "null");
    AddText(node, "IsLatest", "true");
    AddText(node, "LastModified", FormatRfc3339Millis(o.last_modified));
    AddText(node, "ETag", o.etag);
    AddText(node, "Size", std::to_string(o.size));
    AddText(node, "StorageClass", "STANDARD");
    AddOwner(node, c);
  }
  for (const auto& p : result->common_prefixes) AddText(root.append_child("CommonPrefixes"), "Prefix", Encoded(c, p));
  c.Xml(200, x.str());
}

}  // namespace bucketd::api
