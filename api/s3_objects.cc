// PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.
#include <fcntl.h>

#include <algorithm>
#include <memory>

#include "api/put_body.h"
#include "api/s3_call.h"
#include "api/xml.h"
#include "common/time_format.h"
#include "sigv4/sigv4.h"

namespace bucketd::api {
namespace {

// The headers S3 keeps with an object and returns on GET and HEAD.
constexpr const char* kStoredHeaders[] = {"cache-control", "content-disposition", "content-language", "expires"};

// Response headers an answer may be told to override (response-…).
constexpr std::pair<const char*, const char*> kOverrides[] = {
    {"response-content-type", "Content-Type"},         {"response-content-language", "Content-Language"},
    {"response-expires", "Expires"},                   {"response-cache-control", "Cache-Control"},
    {"response-content-disposition", "Content-Disposition"}, {"response-content-encoding", "Content-Encoding"}};

std::string Unquote(const std::string& etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') return etag.substr(1, etag.size() - 2);
  return etag;
}

// If-Match / If-None-Match values: "*", or ETags separated by commas.
bool EtagListMatches(const std::string& list, const std::string& etag) {
  for (std::string item : SplitHeaderList(list, false)) {
    if (item.rfind("W/", 0) == 0) item = item.substr(2);
    if (item == "*" || Unquote(item) == Unquote(etag)) return true;
  }
  return false;
}

int64_t Seconds(int64_t ns) { return ns / 1'000'000'000; }

// The outcome of conditional headers on an object: 0 (go on), 304 or 412.
int Conditions(const Call& c, const store::ObjectInfo& info, const char* prefix) {
  auto h = [&](const char* name) { return c.Header(std::string(prefix) + name); };
  const std::string* if_match = h("if-match");
  const std::string* if_none_match = h("if-none-match");
  const std::string* if_modified = h("if-modified-since");
  const std::string* if_unmodified = h("if-unmodified-since");
  // RFC 7232's order, as S3 applies it: a true If-Match overrides a false
  // If-Unmodified-Since, a false If-None-Match overrides If-Modified-Since.
  if (if_match != nullptr) {
    if (!EtagListMatches(*if_match, info.etag)) return 412;
  } else if (if_unmodified != nullptr) {
    auto t = ParseHttpDate(*if_unmodified);
    if (t.ok() && Seconds(info.last_modified) > Seconds(*t)) return 412;
  }
  bool copy = std::string_view(prefix).size() > 0;
  if (if_none_match != nullptr) {
    if (EtagListMatches(*if_none_match, info.etag)) return copy ? 412 : 304;
  } else if (if_modified != nullptr) {
    auto t = ParseHttpDate(*if_modified);
    if (t.ok() && Seconds(info.last_modified) <= Seconds(*t)) return copy ? 412 : 304;
  }
  return 0;
}

std::vector<http::Header> ObjectHeaders(const Call& c, const store::ObjectInfo& info, bool checksums) {
  std::vector<http::Header> h = {{"ETag", info.etag},
                                 {"Last-Modified", FormatHttpDate(info.last_modified)},
                                 {"Accept-Ranges", "bytes"},
                                 {"Content-Type", info.content_type}};
  for (const auto& [name, value] : info.user_metadata) h.push_back({"x-amz-meta-" + name, value});
  if (!info.tags.empty()) h.push_back({"x-amz-tagging-count", std::to_string(info.tags.size())});
  for (const auto& [name, value] : info.headers) {
    bool stored = std::find_if(std::begin(kStoredHeaders), std::end(kStoredHeaders),
                               [&](const char* s) { return name == s; }) != std::end(kStoredHeaders);
    if (stored || name == "content-encoding") h.push_back({name, value});
    if (checksums && name.rfind("x-amz-checksum-", 0) == 0) h.push_back({name, value});
  }
  for (const auto& [param, header] : kOverrides) {
    if (const std::string* v = c.Query(param)) {
      std::erase_if(h, [&](const http::Header& x) { return strcasecmp(x.name.c_str(), header) == 0; });
      h.push_back({header, *v});
    }
  }
  return h;
}

}  // namespace

bool PutOptionsFromHeaders(Call& c, store::PutOptions* o) {
  for (const http::Header& h : c.req.headers) {
    if (h.name.rfind("x-amz-meta-", 0) == 0) o->user_metadata[h.name.substr(11)] = h.value;
    for (const char* stored : kStoredHeaders) {
      if (h.name == stored) o->headers[h.name] = h.value;
    }
  }
  if (const std::string* ct = c.Header("content-type")) o->content_type = *ct;
  if (const std::string* inm = c.Header("if-none-match")) {
    if (*inm != "*") {
      c.Fail(S3Error::Make(501, "NotImplemented", "If-None-Match on a write takes only '*'."));
      return false;
    }
    o->if_none_match = true;
  }
  if (const std::string* im = c.Header("if-match")) o->if_match = *im;
  return TagsFromHeader(c, &o->tags);
}

bool ReadSmallBody(Call& c, size_t limit, std::string* body) {
  PutBody source(c.ex, c.auth);
  S3Error e;
  if (!source.Prepare(&e)) {
    c.Fail(std::move(e));
    return false;
  }
  char buf[16 << 10];
  for (;;) {
    auto n = source.Read(buf, sizeof(buf));
    if (!n.ok()) {
      c.Fail(source.error() ? *source.error() : S3Error::Make(400, "IncompleteBody", n.status().message()));
      return false;
    }
    if (*n == 0) return true;
    if (body->size() + *n > limit) {
      c.Fail(S3Error::Make(400, "MaxMessageLengthExceeded", "Your request was too big (over " +
                                                              std::to_string(limit) + " bytes)."));
      return false;
    }
    body->append(buf, *n);
  }
}

bool ReadXmlBody(Call& c, size_t limit, const char* root, pugi::xml_document* doc, pugi::xml_node* node) {
  std::string body;
  if (!ReadSmallBody(c, limit, &body)) return false;
  if (Status s = ParseXml(body, doc); !s.ok()) {
    c.Fail(S3Error::Make(400, "MalformedXML", s.message()));
    return false;
  }
  *node = doc->child(root);
  if (!*node) {
    c.Fail(S3Error::Make(400, "MalformedXML", std::string("expected a <") + root + "> document"));
    return false;
  }
  return true;
}

void PutObject(Call& c) {
  c.operation = "PutObject";
  if (!c.Allowed("s3:PutObject", c.ObjectArn()) || !c.Writable()) return;
  if (!c.req.content_length && !c.req.chunked) {
    return c.Fail(S3Error::Make(411, "MissingContentLength", "You must provide the Content-Length HTTP header."));
  }
  store::PutOptions options;
  if (!PutOptionsFromHeaders(c, &options)) return;
  PutBody body(c.ex, c.auth);
  S3Error e;
  if (!body.Prepare(&e)) return c.Fail(std::move(e));
  if (!body.content_encoding().empty()) options.headers["content-encoding"] = body.content_encoding();
  options.late_headers = &body.checksums();
  const std::string* decoded = c.Header("x-amz-decoded-content-length");
  uint64_t declared = decoded != nullptr ? std::strtoull(decoded->c_str(), nullptr, 10) : c.req.content_length.value_or(0);
  options.caller = c.Caller("PutObject", declared);
  auto info = c.api.store.PutObject(c.bucket, c.key, body, options);
  if (!info.ok()) {
    if (body.error()) return c.Fail(*body.error());
    return c.FailStore(info.status());
  }
  std::vector<http::Header> h = {{"ETag", info->etag}};
  for (const auto& [name, value] : body.checksums()) h.push_back({name, value});
  c.Empty(200, std::move(h));
}

void GetObject(Call& c, bool head) {
  c.operation = head ? "HeadObject" : "GetObject";
  if (!c.Allowed("s3:GetObject", c.ObjectArn())) return;
  auto reader = c.api.store.OpenObjectForRead(c.bucket, c.key);
  if (!reader.ok()) return c.FailStore(reader.status());
  const store::ObjectInfo& info = reader->info;
  if (int outcome = Conditions(c, info, ""); outcome == 304) {
    return c.Empty(304, {{"ETag", info.etag}, {"Last-Modified", FormatHttpDate(info.last_modified)}});
  } else if (outcome == 412) {
    return c.Fail(S3Error::Make(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"));
  }
  uint64_t begin = 0, end = info.size;
  bool partial = false;
  if (const std::string* range = c.Header("range")) {
    // A Range S3 cannot parse is ignored (the whole object), as in S3.
    if (auto r = store::ByteRange::Parse(*range); r.ok()) {
      if (!r->Resolve(info.size, &begin, &end).ok()) {
        S3Error e = S3Error::Make(416, "InvalidRange", "The requested range is not satisfiable");
        e.extra = {{"RangeRequested", *range}, {"ActualObjectSize", std::to_string(info.size)}};
        return c.Fail(std::move(e));
      }
      partial = true;
    }
  }
  const std::string* mode = c.Header("x-amz-checksum-mode");
  // A checksum covers the whole object: never sent with a part of it.
  bool checksums = mode != nullptr && strcasecmp(mode->c_str(), "ENABLED") == 0 && !partial;
  http::Response r;
  r.status = partial ? 206 : 200;
  r.headers = c.Headers();
  for (auto& h : ObjectHeaders(c, info, checksums)) r.headers.push_back(std::move(h));
  if (partial) {
    r.headers.push_back({"Content-Range", "bytes " + std::to_string(begin) + "-" + std::to_string(end - 1) + "/" +
                                              std::to_string(info.size)});
  }
  if (!c.ex.StartBody(r, end - begin).ok() || head) return;
  c.bytes_out = end - begin;
  // Sized to the answer: a small object costs no megabyte allocation.
  const size_t chunk = static_cast<size_t>(std::min<uint64_t>(1 << 20, end - begin));
  std::unique_ptr<char[]> buf(new char[chunk]);
  Fs& fs = c.api.env.fs();
  for (uint64_t off = begin; off < end;) {
    auto n = fs.PRead(reader->fd.get(), buf.get(), static_cast<size_t>(std::min<uint64_t>(chunk, end - off)), off);
    // The answer's length is promised: a short file can only end the
    // connection (the client sees a truncated body, never wrong bytes).
    if (!n.ok() || *n == 0) return;
    if (!c.ex.WriteBody(std::string_view(buf.get(), *n)).ok()) return;
    off += *n;
  }
}

void DeleteObject(Call& c) {
  c.operation = "DeleteObject";
  if (!c.Allowed("s3:DeleteObject", c.ObjectArn()) || !c.Writable()) return;
  bool existed = c.api.store.StatObject(c.bucket, c.key).ok();
  if (existed && c.api.deletes) {
    c.api.deletes->Note(c.bucket, c.key, c.Caller("DeleteObject", 0), c.api.env.clock().NowNanos());
  }
  Status s = c.api.store.DeleteObject(c.bucket, c.key);
  if (!s.ok()) {
    if (c.api.deletes) c.api.deletes->Forget(c.bucket, c.key);
    return c.FailStore(s);
  }
  c.Empty(204);
}

void DeleteObjects(Call& c) {
  c.operation = "DeleteObjects";
  if (!c.Writable()) return;
  if (c.Header("content-md5") == nullptr) {
    bool checksum = std::any_of(c.req.headers.begin(), c.req.headers.end(), [](const http::Header& h) {
      return h.name.rfind("x-amz-checksum-", 0) == 0 || h.name == "x-amz-trailer";
    });
    if (!checksum) {
      return c.Fail(S3Error::Make(400, "InvalidRequest",
                                  "Missing required header for this request: Content-MD5 (or an x-amz-checksum-*)"));
    }
  }
  pugi::xml_document doc;
  pugi::xml_node del;
  if (!ReadXmlBody(c, 2 << 20, "Delete", &doc, &del)) return;
  bool quiet = std::string(del.child_value("Quiet")) == "true";
  std::vector<std::string> keys;
  for (pugi::xml_node o : del.children("Object")) {
    if (!o.child("Key")) return c.Fail(S3Error::Make(400, "MalformedXML", "an <Object> without its <Key>"));
    keys.push_back(o.child_value("Key"));
  }
  if (keys.empty() || keys.size() > 1000) {
    return c.Fail(S3Error::Make(400, "MalformedXML", "a <Delete> takes 1 to 1000 <Object> elements"));
  }
  if (Status s = c.api.store.HeadBucket(c.bucket); !s.ok()) return c.FailStore(s);
  XmlOut x("DeleteResult");
  std::string saved_key = c.key;
  for (const std::string& key : keys) {
    c.key = key;
    S3Error err;
    bool ok = false;
    if (Status valid = store::ValidateKey(key); !valid.ok()) {
      err = S3Error::Make(400, "InvalidArgument", valid.message());
    } else if (!c.Permits("s3:DeleteObject", c.ObjectArn())) {
      err = S3Error::Make(403, "AccessDenied", "Access Denied");
    } else {
      bool existed = c.api.store.StatObject(c.bucket, key).ok();
      // One DeleteObject record per key, carrying the batch's request id.
      if (existed && c.api.deletes) {
        c.api.deletes->Note(c.bucket, key, c.Caller("DeleteObject", 0), c.api.env.clock().NowNanos());
      }
      Status s = c.api.store.DeleteObject(c.bucket, key);
      if (!s.ok() && c.api.deletes) c.api.deletes->Forget(c.bucket, key);
      ok = s.ok();
      if (!ok) err = FromStoreStatus(s, c.bucket, key);
    }
    if (ok && !quiet) AddText(x.root().append_child("Deleted"), "Key", key);
    if (!ok) {
      pugi::xml_node e = x.root().append_child("Error");
      AddText(e, "Key", key);
      AddText(e, "Code", err.code);
      AddText(e, "Message", err.message);
    }
  }
  c.key = saved_key;
  c.Xml(200, x.str());
}

bool CopySourceOf(Call& c, std::string* src_bucket, std::string* src_key) {
  std::string source = *c.Header("x-amz-copy-source");
  auto fail = [&](S3Error e) {
    c.Fail(std::move(e));
    return false;
  };
  if (size_t q = source.find('?'); q != std::string::npos) {
    std::string version = source.substr(q + 1);
    source.resize(q);
    if (version != "versionId=null") {
      return fail(S3Error::Make(400, "InvalidArgument", "bucketd keeps no versions: only versionId=null exists"));
    }
  }
  auto decoded = sigv4::UriDecode(source);
  if (!decoded.ok() || decoded->empty()) return fail(S3Error::Make(400, "InvalidArgument", "Invalid copy source encoding"));
  std::string src = decoded->front() == '/' ? decoded->substr(1) : *decoded;
  size_t slash = src.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == src.size()) {
    return fail(S3Error::Make(400, "InvalidArgument", "Copy Source must mention the source bucket and key: "
                                                      "sourcebucket/sourcekey"));
  }
  *src_bucket = src.substr(0, slash);
  *src_key = src.substr(slash + 1);
  if (Status v = store::ValidateBucketName(*src_bucket); !v.ok()) {
    return fail(S3Error::Make(404, "NoSuchBucket", "The specified bucket does not exist"));
  }
  if (Status v = store::ValidateKey(*src_key); !v.ok()) return fail(S3Error::Make(400, "InvalidArgument", v.message()));
  if (!c.Permits("s3:GetObject", "arn:aws:s3:::" + *src_bucket + "/" + *src_key)) {
    return fail(S3Error::Make(403, "AccessDenied", "Access Denied"));
  }
  return true;
}

bool CopySourceConditionsHold(Call& c, const store::ObjectInfo& source) {
  if (Conditions(c, source, "x-amz-copy-source-") == 0) return true;
  c.Fail(S3Error::Make(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"));
  return false;
}

void CopyObject(Call& c) {
  c.operation = "CopyObject";
  std::string src_bucket, src_key;
  if (!CopySourceOf(c, &src_bucket, &src_key)) return;
  if (!c.Allowed("s3:PutObject", c.ObjectArn()) || !c.Writable()) return;
  auto head = c.api.store.HeadObject(src_bucket, src_key);
  if (!head.ok()) {
    S3Error e = FromStoreStatus(head.status(), src_bucket, src_key);
    return c.Fail(std::move(e));
  }
  if (!CopySourceConditionsHold(c, *head)) return;
  store::CopyOptions options;
  const std::string* directive = c.Header("x-amz-metadata-directive");
  if (directive != nullptr && *directive != "COPY" && *directive != "REPLACE") {
    return c.Fail(S3Error::Make(400, "InvalidArgument", "Unknown metadata directive."));
  }
  options.directive = directive != nullptr && *directive == "REPLACE" ? store::MetadataDirective::kReplace
                                                                      : store::MetadataDirective::kCopy;
  if (!PutOptionsFromHeaders(c, &options.put)) return;
  const std::string* tagging = c.Header("x-amz-tagging-directive");
  if (tagging != nullptr && *tagging != "COPY" && *tagging != "REPLACE") {
    return c.Fail(S3Error::Make(400, "InvalidArgument", "Unknown tagging directive."));
  }
  options.copy_tags = tagging == nullptr || *tagging == "COPY";
  if (options.directive == store::MetadataDirective::kCopy) {
    options.put.content_type.clear();
    options.put.user_metadata.clear();
    options.put.headers.clear();
  }
  options.put.caller = c.Caller("CopyObject", 0);
  auto info = c.api.store.CopyObject(src_bucket, src_key, c.bucket, c.key, options);
  if (!info.ok()) return c.FailStore(info.status());
  XmlOut x("CopyObjectResult");
  AddText(x.root(), "LastModified", FormatRfc3339Millis(info->last_modified));
  AddText(x.root(), "ETag", info->etag);
  c.Xml(200, x.str());
}

}  // namespace bucketd::api
