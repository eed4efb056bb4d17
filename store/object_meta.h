// The metadata record bucketd keeps in an object's extended attribute.
//
// Format (docs/formats.md, "object metadata"): JSON in the attribute
// "user.bucketd.meta", {"v":2,"size":N,"mtime_ns":N,"etag":"\"…\"",
// "content_type":"…","meta":{…},"folder":bool,"mac":"…"}. size and mtime_ns
// record the file state the ETag was computed for; a mismatch means the file
// changed behind bucketd's back and the ETag is recomputed.
//
// Anyone who can write a file in a bucket can set its attributes, so a record
// is trusted only under its seal: "mac" is an HMAC-SHA256, keyed by the
// store's metadata key (store/meta_key.h), over the record and the identity of
// the file it is on (inode and birth time, which the owner cannot set). A
// record copied to another file, edited, or written without the key is not
// trusted, and is recomputed like a file that has none.
#ifndef BUCKETD_STORE_OBJECT_META_H_
#define BUCKETD_STORE_OBJECT_META_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/env.h"
#include "common/status.h"

namespace bucketd::store {

inline constexpr char kMetaXattr[] = "user.bucketd.meta";
inline constexpr char kBucketXattr[] = "user.bucketd.bucket";
inline constexpr char kDefaultContentType[] = "binary/octet-stream";
inline constexpr char kEmptyEtag[] = "\"d41d8cd98f00b204e9800998ecf8427e\"";

struct StoredMeta {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string etag;
  std::string content_type;
  std::map<std::string, std::string> user_metadata;
  // Cache-Control, Content-Disposition, Content-Encoding, Content-Language,
  // Expires, as given at put (names lower case).
  std::map<std::string, std::string> headers;
  // Who wrote this version through the API (a JSON object, ObjectInfo::caller).
  std::string caller;
  std::map<std::string, std::string> tags;  // S3 object tags
  bool folder = false;
};

// The record for the file `file`, sealed with `key` (unsealed when the key is
// empty: such a record is never trusted, not even by its writer).
std::string EncodeMeta(const StoredMeta& meta, const FileStat& file, std::string_view key);
// Corruption (naming what is wrong) for anything but a version-2 record whose
// seal matches `key` and `file`.
Result<StoredMeta> DecodeMeta(std::string_view text, const FileStat& file, std::string_view key);

// DecodeMeta that remembers what it verified: the same record text on the
// same file (inode and birth time, what the seal covers) decodes to the same
// metadata, so a record read again costs a hash lookup instead of a JSON
// parse and an HMAC (most of a small GET's store time). Refusals are not
// kept. Thread-safe; bounded.
class VerifiedMetaCache {
 public:
  static constexpr size_t kMaxEntries = 16384;
  Result<StoredMeta> Decode(std::string_view text, const FileStat& file, std::string_view key);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, StoredMeta> verified_;
};

// S3 limits user metadata to 2 KB (names + values); names are lower-cased,
// must be non-empty HTTP token characters. InvalidArgument otherwise.
Status ValidateUserMetadata(std::map<std::string, std::string>* user_metadata);

}  // namespace bucketd::store

#endif  // BUCKETD_STORE_OBJECT_META_H_
