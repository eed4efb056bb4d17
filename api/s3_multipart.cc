// Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload, ListParts, ListMultipartUploads.
//
// Parts are staged outside every bucket, in <multipart_dir>/<upload id>/
// (upload.json: the object's key and metadata; part-NNNNN and its
// part-NNNNN.json: ETag, size, time), so no listing or watcher sees them and
// they survive a restart. Complete streams the parts, in order, into one
// ordinary store put: the object appears whole, with S3's "<md5 of the
// parts' MD5s>-N" ETag, or not at all.
#include <fcntl.h>

#include <algorithm>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "api/put_body.h"
#include "api/s3_call.h"
#include "api/xml.h"
#include "common/file_util.h"
#include "common/md5.h"
#include "common/time_format.h"
#include "store/object_meta.h"

namespace bucketd::api {
namespace {

using nlohmann::json;

constexpr uint64_t kMinPartSize = 5ULL << 20;
constexpr int kMaxParts = 10000;

std::string PartName(int n) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "part-%05d", n);
  return buf;
}

// Only ids bucketd made (32 hex digits) name a directory: no other string
// can reach the file system.
bool ValidUploadId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) && !std::isupper(static_cast<unsigned char>(ch)); });
}

std::string UploadDir(const Call& c, const std::string& id) { return c.api.options.multipart_dir + "/" + id; }

Status WriteFileDurably(Fs& fs, const std::string& dir, const std::string& name, const std::string& data) {
  std::string tmp = dir + "/" + name + ".tmp";
  ASSIGN_OR_RETURN(UniqueFd fd, fs.OpenAt(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600));
  RETURN_IF_ERROR(fs.WriteAll(fd.get(), data));
  RETURN_IF_ERROR(fs.Fsync(fd.get()));
  return fs.RenameAt(AT_FDCWD, tmp, AT_FDCWD, dir + "/" + name, false);
}

struct Upload {
  std::string id;
  json meta;  // {"bucket","key","initiated_ns","content_type","meta","headers","initiator"}
};

// The upload `c` names (?uploadId=) for its bucket and key; false after
// answering NoSuchUpload.
bool FindUpload(Call& c, Upload* u) {
  const std::string* id = c.Query("uploadId");
  auto fail = [&] {
    c.Fail(S3Error::Make(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
                                              "or the upload may have been aborted or completed."));
    return false;
  };
  if (id == nullptr || !ValidUploadId(*id)) return fail();
  auto text = ReadFileToString(c.api.env.fs(), AT_FDCWD, UploadDir(c, *id) + "/upload.json");
  if (!text.ok()) return fail();
  json meta = json::parse(*text, nullptr, false);
  if (!meta.is_object() || meta.value("bucket", "") != c.bucket || meta.value("key", "") != c.key) return fail();
  u->id = *id;
  u->meta = std::move(meta);
  return true;
}

struct PartInfo {
  int number = 0;
  std::string etag;
  uint64_t size = 0;
  int64_t modified_ns = 0;
};

std::vector<PartInfo> Parts(Call& c, const std::string& id) {
  std::vector<PartInfo> out;
  Fs& fs = c.api.env.fs();
  auto dir = fs.OpenAt(AT_FDCWD, UploadDir(c, id), O_RDONLY | O_DIRECTORY);
  if (!dir.ok()) return out;
  auto entries = fs.ReadDir(dir->get());
  if (!entries.ok()) return out;
  for (const DirEntry& e : *entries) {
    if (e.name.size() != 15 || e.name.rfind("part-", 0) != 0 || !e.name.ends_with(".json")) continue;
    auto text = ReadFileToString(fs, dir->get(), e.name);
    if (!text.ok()) continue;
    json j = json::parse(*text, nullptr, false);
    if (!j.is_object()) continue;
    out.push_back({j.value("number", 0), j.value("etag", ""), j.value("size", uint64_t{0}), j.value("modified_ns", int64_t{0})});
  }
  std::sort(out.begin(), out.end(), [](const PartInfo& a, const PartInfo& b) { return a.number < b.number; });
  return out;
}

// An upload's directory and everything in it (Complete, Abort).
void RemoveUpload(Call& c, const std::string& id) {
  Fs& fs = c.api.env.fs();
  std::string dir = UploadDir(c, id);
  if (auto d = fs.OpenAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY); d.ok()) {
    if (auto entries = fs.ReadDir(d->get()); entries.ok()) {
      for (const DirEntry& e : *entries) (void)fs.UnlinkAt(d->get(), e.name, false);
    }
  }
  (void)fs.UnlinkAt(AT_FDCWD, dir, true);
}

// The parts' bytes in order, as one source for the final put.
class PartsSource final : public store::ByteSource {
 public:
  PartsSource(Fs& fs, std::vector<std::string> paths) : fs_(fs), paths_(std::move(paths)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    while (next_ <= paths_.size()) {
      if (!fd_.valid()) {
        if (next_ == paths_.size()) return size_t{0};
        ASSIGN_OR_RETURN(fd_, fs_.OpenAt(AT_FDCWD, paths_[next_++], O_RDONLY | O_NOFOLLOW));
      }
      ASSIGN_OR_RETURN(size_t got, fs_.Read(fd_.get(), buf, n));
      if (got > 0) return got;
      fd_ = UniqueFd();
    }
    return size_t{0};
  }

 private:
  Fs& fs_;
  std::vector<std::string> paths_;
  size_t next_ = 0;
  UniqueFd fd_;
};

}  // namespace

void CreateMultipartUpload(Call& c) {
  c.operation = "CreateMultipartUpload";
  if (!c.Allowed("s3:PutObject", c.ObjectArn()) || !c.Writable()) return;
  if (Status s = c.api.store.HeadBucket(c.bucket); !s.ok()) return c.FailStore(s);
  store::PutOptions o;
  if (!PutOptionsFromHeaders(c, &o)) return;
  if (Status s = store::ValidateUserMetadata(&o.user_metadata); !s.ok()) {
    return c.Fail(S3Error::Make(400, "MetadataTooLarge", s.message()));
  }
  std::string id = HexEncode(SecretBytes(16));
  std::string dir = UploadDir(c, id);
  Fs& fs = c.api.env.fs();
  Status s = MakeDirs(fs, c.api.options.multipart_dir, 0700);
  if (s.ok()) s = fs.MkdirAt(AT_FDCWD, dir, 0700);
  json meta = {{"bucket", c.bucket},
               {"key", c.key},
               {"initiated_ns", c.api.env.clock().NowNanos()},
               {"content_type", o.content_type},
               {"meta", o.user_metadata},
               {"headers", o.headers},
               {"tags", o.tags},
               {"initiator", c.auth.principal.arn},
               {"user", c.auth.principal.user_name}};
  if (s.ok()) s = WriteFileDurably(fs, dir, "upload.json", meta.dump());
  if (!s.ok()) return c.FailStore(Status::IOError(s.message()));
  XmlOut x("InitiateMultipartUploadResult");
  AddText(x.root(), "Bucket", c.bucket);
  AddText(x.root(), "Key", c.key);
  AddText(x.root(), "UploadId", id);
  c.Xml(200, x.str());
}

namespace {

// Streams `source` into the upload's part `number` (a temp file, fsync,
// rename, then its part-NNNNN.json) and gives its ETag; false after answering
// an error, a failure of the source as `source_error` says.
bool WritePart(Call& c, const Upload& u, int number, store::ByteSource& source, std::string* etag,
               const std::function<S3Error(const Status&)>& source_error) {
  Fs& fs = c.api.env.fs();
  std::string dir = UploadDir(c, u.id), name = PartName(number);
  std::string tmp = dir + "/" + name + ".tmp";
  auto fd = fs.OpenAt(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  if (!fd.ok()) {
    c.FailStore(Status::IOError(fd.status().message()));
    return false;
  }
  Md5 md5;
  uint64_t size = 0;
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  for (;;) {
    auto n = source.Read(buf.get(), 1 << 20);
    if (!n.ok()) {
      (void)fs.UnlinkAt(AT_FDCWD, tmp, false);
      c.Fail(source_error(n.status()));
      return false;
    }
    if (*n == 0) break;
    md5.Update(std::string_view(buf.get(), *n));
    size += *n;
    if (Status w = fs.WriteAll(fd->get(), std::string_view(buf.get(), *n)); !w.ok()) {
      (void)fs.UnlinkAt(AT_FDCWD, tmp, false);
      c.FailStore(Status::IOError(w.message()));
      return false;
    }
  }
  *etag = "\"" + md5.HexDigest() + "\"";
  Status s = fs.Fsync(fd->get());
  if (s.ok()) s = fs.RenameAt(AT_FDCWD, tmp, AT_FDCWD, dir + "/" + name, false);
  json info = {{"number", number}, {"etag", *etag}, {"size", size}, {"modified_ns", c.api.env.clock().NowNanos()}};
  if (s.ok()) s = WriteFileDurably(fs, dir, name + ".json", info.dump());
  if (!s.ok()) {
    c.FailStore(Status::IOError(s.message()));
    return false;
  }
  return true;
}

// A byte range of an open object, for UploadPartCopy.
class RangeSource final : public store::ByteSource {
 public:
  RangeSource(Fs& fs, int fd, uint64_t begin, uint64_t end) : fs_(fs), fd_(fd), off_(begin), end_(end) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (off_ >= end_) return size_t{0};
    ASSIGN_OR_RETURN(size_t got, fs_.PRead(fd_, buf, static_cast<size_t>(std::min<uint64_t>(n, end_ - off_)), off_));
    if (got == 0) return Status::Unavailable("the copy source got shorter while it was copied; copy it again");
    off_ += got;
    return got;
  }

 private:
  Fs& fs_;
  int fd_;
  uint64_t off_, end_;
};

// UploadPart with x-amz-copy-source (and x-amz-copy-source-range): the
// part's bytes come from an object bucketd has.
void UploadPartCopy(Call& c, int number) {
  c.operation = "UploadPartCopy";
  std::string src_bucket, src_key;
  if (!CopySourceOf(c, &src_bucket, &src_key)) return;
  Upload u;
  if (!FindUpload(c, &u)) return;
  auto reader = c.api.store.OpenObjectForRead(src_bucket, src_key);
  if (!reader.ok()) return c.Fail(FromStoreStatus(reader.status(), src_bucket, src_key));
  if (!CopySourceConditionsHold(c, reader->info)) return;
  uint64_t begin = 0, end = reader->info.size;
  if (const std::string* range = c.Header("x-amz-copy-source-range")) {
    auto r = store::ByteRange::Parse(*range);
    // S3 takes only "bytes=first-last" here, inside the object.
    if (!r.ok() || !r->first || !r->last || *r->last >= reader->info.size || *r->first > *r->last) {
      return c.Fail(S3Error::Make(400, "InvalidArgument",
                                  "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                                  "first and last are the zero-based offsets of the first and last bytes to copy, "
                                  "within the source's " + std::to_string(reader->info.size) + " bytes"));
    }
    begin = *r->first;
    end = *r->last + 1;
  }
  RangeSource source(c.api.env.fs(), reader->fd.get(), begin, end);
  std::string etag;
  if (!WritePart(c, u, number, source, &etag,
                 [&](const Status& s) { return FromStoreStatus(s, src_bucket, src_key); })) {
    return;
  }
  XmlOut x("CopyPartResult");
  AddText(x.root(), "ETag", etag);
  AddText(x.root(), "LastModified", FormatRfc3339Millis(c.api.env.clock().NowNanos()));
  c.Xml(200, x.str());
}

}  // namespace

void UploadPart(Call& c) {
  c.operation = "UploadPart";
  if (!c.Allowed("s3:PutObject", c.ObjectArn()) || !c.Writable()) return;
  const std::string* number_text = c.Query("partNumber");
  int number = 0;
  if (number_text->size() <= 5 && !number_text->empty() && std::all_of(number_text->begin(), number_text->end(), ::isdigit)) {
    number = std::stoi(*number_text);
  }
  if (number < 1 || number > kMaxParts) {
    return c.Fail(S3Error::Make(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"));
  }
  if (c.Header("x-amz-copy-source") != nullptr) return UploadPartCopy(c, number);
  Upload u;
  if (!FindUpload(c, &u)) return;
  PutBody body(c.ex, c.auth);
  S3Error e;
  if (!body.Prepare(&e)) return c.Fail(std::move(e));
  std::string etag;
  if (!WritePart(c, u, number, body, &etag, [&](const Status& s) {
        return body.error() ? *body.error() : S3Error::Make(400, "IncompleteBody", s.message());
      })) {
    return;
  }
  std::vector<http::Header> h = {{"ETag", etag}};
  for (const auto& [k, v] : body.checksums()) h.push_back({k, v});
  c.Empty(200, std::move(h));
}

void CompleteMultipartUpload(Call& c) {
  c.operation = "CompleteMultipartUpload";
  if (!c.Allowed("s3:PutObject", c.ObjectArn()) || !c.Writable()) return;
  Upload u;
  if (!FindUpload(c, &u)) return;
  pugi::xml_document doc;
  pugi::xml_node root;
  if (!ReadXmlBody(c, 4 << 20, "CompleteMultipartUpload", &doc, &root)) return;
  std::vector<PartInfo> stored = Parts(c, u.id);
  std::vector<PartInfo> chosen;
  for (pugi::xml_node p : root.children("Part")) {
    std::string n = p.child_value("PartNumber");
    int number = n.size() <= 5 && !n.empty() && std::all_of(n.begin(), n.end(), ::isdigit) ? std::stoi(n) : 0;
    if (!chosen.empty() && number <= chosen.back().number) {
      return c.Fail(S3Error::Make(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts "
                                                           "list must be specified in order of the part number."));
    }
    auto it = std::find_if(stored.begin(), stored.end(), [&](const PartInfo& s) { return s.number == number; });
    std::string etag = p.child_value("ETag");
    if (!etag.empty() && etag.front() != '"') etag = "\"" + etag + "\"";
    if (it == stored.end() || it->etag != etag) {
      return c.Fail(S3Error::Make(400, "InvalidPart", "One or more of the specified parts could not be found. The part "
                                                      "may not have been uploaded, or the specified entity tag may not "
                                                      "match the part's entity tag."));
    }
    chosen.push_back(*it);
  }
  if (chosen.empty()) {
    return c.Fail(S3Error::Make(400, "MalformedXML", "You must specify at least one part"));
  }
  std::string md5s;
  std::vector<std::string> paths;
  uint64_t total = 0;
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (i + 1 < chosen.size() && chosen[i].size < kMinPartSize) {
      S3Error e = S3Error::Make(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.");
      e.extra = {{"ProposedSize", std::to_string(chosen[i].size)}, {"MinSizeAllowed", std::to_string(kMinPartSize)},
                 {"PartNumber", std::to_string(chosen[i].number)}};
      return c.Fail(std::move(e));
    }
    std::string hex = chosen[i].etag.substr(1, 32), raw;
    for (size_t k = 0; k + 1 < hex.size(); k += 2) raw.push_back(static_cast<char>(std::stoi(hex.substr(k, 2), nullptr, 16)));
    md5s += raw;
    paths.push_back(UploadDir(c, u.id) + "/" + PartName(chosen[i].number));
    total += chosen[i].size;
  }
  Md5 md5;
  md5.Update(md5s);
  store::PutOptions o;
  o.etag = "\"" + md5.HexDigest() + "-" + std::to_string(chosen.size()) + "\"";
  o.content_type = u.meta.value("content_type", "");
  o.user_metadata = u.meta.value("meta", std::map<std::string, std::string>());
  o.headers = u.meta.value("headers", std::map<std::string, std::string>());
  o.tags = u.meta.value("tags", std::map<std::string, std::string>());
  o.caller = c.Caller("CompleteMultipartUpload", total);
  PartsSource source(c.api.env.fs(), std::move(paths));
  auto info = c.api.store.PutObject(c.bucket, c.key, source, o);
  if (!info.ok()) return c.FailStore(info.status());
  RemoveUpload(c, u.id);
  XmlOut x("CompleteMultipartUploadResult");
  const std::string* host = c.Header("host");
  AddText(x.root(), "Location", "http://" + (host ? *host : std::string("localhost")) + "/" + c.bucket + "/" + c.key);
  AddText(x.root(), "Bucket", c.bucket);
  AddText(x.root(), "Key", c.key);
  AddText(x.root(), "ETag", info->etag);
  c.Xml(200, x.str());
}

void AbortMultipartUpload(Call& c) {
  c.operation = "AbortMultipartUpload";
  if (!c.Allowed("s3:AbortMultipartUpload", c.ObjectArn()) || !c.Writable()) return;
  Upload u;
  if (!FindUpload(c, &u)) return;
  RemoveUpload(c, u.id);
  c.Empty(204);
}

void ListParts(Call& c) {
  c.operation = "ListParts";
  if (!c.Allowed("s3:ListMultipartUploadParts", c.ObjectArn())) return;
  Upload u;
  if (!FindUpload(c, &u)) return;
  int marker = 0, max_parts = 1000;
  if (const std::string* m = c.Query("part-number-marker"); m && !m->empty() && m->size() < 6 && std::all_of(m->begin(), m->end(), ::isdigit)) marker = std::stoi(*m);
  if (const std::string* m = c.Query("max-parts"); m && !m->empty() && m->size() < 6 && std::all_of(m->begin(), m->end(), ::isdigit)) max_parts = std::min(1000, std::stoi(*m));
  XmlOut x("ListPartsResult");
  pugi::xml_node root = x.root();
  AddText(root, "Bucket", c.bucket);
  AddText(root, "Key", c.key);
  AddText(root, "UploadId", u.id);
  AddText(root, "PartNumberMarker", std::to_string(marker));
  int listed = 0, last = marker;
  bool truncated = false;
  std::vector<PartInfo> parts = Parts(c, u.id);
  for (const PartInfo& p : parts) {
    if (p.number <= marker) continue;
    if (listed == max_parts) {
      truncated = true;
      break;
    }
    pugi::xml_node n = root.append_child("Part");
    AddText(n, "PartNumber", std::to_string(p.number));
    AddText(n, "LastModified", FormatRfc3339Millis(p.modified_ns));
    AddText(n, "ETag", p.etag);
    AddText(n, "Size", std::to_string(p.size));
    ++listed;
    last = p.number;
  }
  AddText(root, "NextPartNumberMarker", std::to_string(last));
  AddText(root, "MaxParts", std::to_string(max_parts));
  AddText(root, "IsTruncated", truncated ? "true" : "false");
  AddText(root, "StorageClass", "STANDARD");
  c.Xml(200, x.str());
}

void ListMultipartUploads(Call& c) {
  c.operation = "ListMultipartUploads";
  if (!c.Allowed("s3:ListBucketMultipartUploads", c.BucketArn())) return;
  if (Status s = c.api.store.HeadBucket(c.bucket); !s.ok()) return c.FailStore(s);
  std::string prefix = c.Query("prefix") ? *c.Query("prefix") : "";
  std::vector<std::pair<std::string, Upload>> uploads;  // (key, upload), sorted by key then initiation
  Fs& fs = c.api.env.fs();
  if (auto d = fs.OpenAt(AT_FDCWD, c.api.options.multipart_dir, O_RDONLY | O_DIRECTORY); d.ok()) {
    if (auto entries = fs.ReadDir(d->get()); entries.ok()) {
      for (const DirEntry& e : *entries) {
        if (!ValidUploadId(e.name)) continue;
        auto text = ReadFileToString(fs, AT_FDCWD, UploadDir(c, e.name) + "/upload.json");
        if (!text.ok()) continue;
        json meta = json::parse(*text, nullptr, false);
        if (!meta.is_object() || meta.value("bucket", "") != c.bucket) continue;
        std::string key = meta.value("key", "");
        if (key.rfind(prefix, 0) != 0) continue;
        uploads.push_back({key, Upload{e.name, std::move(meta)}});
      }
    }
  }
  std::sort(uploads.begin(), uploads.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first
                              : a.second.meta.value("initiated_ns", int64_t{0}) < b.second.meta.value("initiated_ns", int64_t{0});
  });
  XmlOut x("ListMultipartUploadsResult");
  pugi::xml_node root = x.root();
  AddText(root, "Bucket", c.bucket);
  AddText(root, "KeyMarker", "");
  AddText(root, "UploadIdMarker", "");
  AddText(root, "Prefix", prefix);
  AddText(root, "MaxUploads", "1000");
  AddText(root, "IsTruncated", uploads.size() > 1000 ? "true" : "false");
  size_t n = 0;
  for (const auto& [key, upload] : uploads) {
    if (n++ == 1000) break;
    pugi::xml_node node = root.append_child("Upload");
    AddText(node, "Key", key);
    AddText(node, "UploadId", upload.id);
    pugi::xml_node initiator = node.append_child("Initiator");
    AddText(initiator, "ID", upload.meta.value("initiator", ""));
    AddText(initiator, "DisplayName", upload.meta.value("user", ""));
    pugi::xml_node owner = node.append_child("Owner");
    AddText(owner, "ID", c.api.options.account);
    AddText(owner, "DisplayName", upload.meta.value("user", ""));
    AddText(node, "StorageClass", "STANDARD");
    AddText(node, "Initiated", FormatRfc3339Millis(upload.meta.value("initiated_ns", int64_t{0})));
  }
  c.Xml(200, x.str());
}

}  // namespace bucketd::api
