// store: an S3-like object store over a local directory tree.
//
// Layout: <root>/buckets/<bucket>/<key>. A key is a relative path with "/"
// separators, so any program (cp, mv, an SFTP server) can drop objects in and
// `ls` shows them. bucketd keeps each object's metadata (ETag, Content-Type,
// x-amz-meta-*) in one extended attribute of the object's own file, written
// before the file is renamed into place, so data and metadata appear
// together. Files that another program dropped in get their metadata computed
// when first needed and cached in that attribute; the cache records the size
// and mtime it was computed for and is recomputed, never trusted, when the file
// no longer matches. The attribute is sealed with the store's metadata key
// (store/meta_key.h): one that bucketd did not write for this very file (an
// uploader's setfattr) is ignored.
//
// Writes are atomic and durable: the bytes go to a temp file in
// <root>/.staging/ (same file system, outside every bucket, so listings and
// watchers never see it), are fsync'd, renamed over the key, and the key's
// directory is fsync'd. A reader sees the old object or the new one, never a
// torn one. Temp files of writers that died are removed by Store::Open.
//
// Keys that are not plain file paths (see docs/keys.md):
//  * empty segments ("a//b"), "." or ".." segments, a leading "/", NUL,
//    invalid UTF-8, over 1024 bytes, or a segment over 255 bytes: refused
//    (InvalidArgument).
//  * a key ending in "/" is a "folder" object and must be empty; it is a
//    directory carrying a marker attribute, listed under its own key.
//  * a key whose path needs a directory where an object file is ("a" exists,
//    put "a/b") or a file where a directory is ("a/b" exists, put "a"):
//    refused (AlreadyExists), naming the conflicting key.
//
// Every method is safe to call from several threads and several processes
// at once on the same root.
#ifndef BUCKETD_STORE_STORE_H_
#define BUCKETD_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace bucketd::store {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;           // "\"<md5 hex>\"", quotes included, as S3 returns it
  int64_t last_modified = 0;  // Unix nanoseconds (the file's mtime)
  std::string content_type;   // "binary/octet-stream" unless set at put
  std::map<std::string, std::string> user_metadata;  // names without "x-amz-meta-", lower case
  // The other headers S3 stores with an object (cache-control,
  // content-disposition, content-encoding, content-language, expires).
  std::map<std::string, std::string> headers;
  // Who wrote this version through the API endpoint: a JSON object with the
  // CloudTrail fields of that call (userIdentity, sourceIPAddress, userAgent,
  // requestID, eventName, additionalEventData); empty for any other writer.
  // Kept in the sealed metadata, so the record the event plane makes of the
  // version carries it, even after a crash between the write and the record.
  std::string caller;
  std::map<std::string, std::string> tags;  // S3 object tags (PutObjectTagging, x-amz-tagging)
};

struct BucketInfo {
  std::string name;
  int64_t creation_date = 0;  // Unix nanoseconds
};

// Pulls bytes for a put. Read returns 0 at end of data.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// Receives the bytes of a get.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::string_view data) = 0;
};

// Collects a get's bytes in memory (small objects: markers, reports, tables
// that are read whole anyway).
class StringSink final : public ByteSink {
 public:
  Status Write(std::string_view data) override {
    data_.append(data);
    return Status::OK();
  }
  std::string& data() { return data_; }

 private:
  std::string data_;
};

struct PutOptions {
  std::string content_type;  // empty = binary/octet-stream
  std::map<std::string, std::string> user_metadata;
  std::map<std::string, std::string> headers;  // ObjectInfo::headers
  std::string caller;                          // ObjectInfo::caller
  std::map<std::string, std::string> tags;     // ObjectInfo::tags
  // Headers known only once the source is read to its end (checksums sent
  // in an aws-chunked trailer): merged into `headers` when the version is sealed.
  const std::map<std::string, std::string>* late_headers = nullptr;
  // User metadata known only once the source is read to its end (an
  // extracted table's row count): merged into `user_metadata` likewise.
  const std::map<std::string, std::string>* late_user_metadata = nullptr;
  // A multipart completion's "\"<md5 of the parts' MD5s>-N\"" instead of the
  // bytes' MD5.
  std::string etag;
  // The bytes' ETag as the source itself computed it passing them on
  // (store::Md5Source), set by the time it ends: the put then hashes
  // nothing, so the hashing can run on another thread than the writes. A
  // source that ends without it fails the put.
  const std::string* late_etag = nullptr;
  // If-Match: write only when the current object's ETag equals this (quotes
  // optional). Missing object -> NotFound; other ETag -> PreconditionFailed.
  std::optional<std::string> if_match;
  // If-None-Match: * : create only. Existing object -> PreconditionFailed.
  bool if_none_match = false;
  // Called after each chunk with the bytes written so far (progress bars).
  std::function<void(uint64_t)> progress;
  // Mode 0640 instead of 0644: for objects that carry what an event or an
  // input said (dead-letter and destination records), which others on the
  // machine have no business reading.
  bool private_object = false;
};

// A byte range as in HTTP Range: "bytes=first-last", "bytes=first-",
// "bytes=-suffix_length".
struct ByteRange {
  std::optional<uint64_t> first;
  std::optional<uint64_t> last;
  std::optional<uint64_t> suffix_length;
  // Parses "bytes=…"; InvalidArgument names what was expected.
  static Result<ByteRange> Parse(std::string_view header);
  // The bytes [begin, end) of an object of `size` bytes; InvalidArgument
  // (S3 InvalidRange) when none of them exist.
  Status Resolve(uint64_t size, uint64_t* begin, uint64_t* end) const;
};

struct GetOptions {
  std::optional<ByteRange> range;  // unsatisfiable -> InvalidArgument (S3 InvalidRange)
};

enum class MetadataDirective { kCopy, kReplace };

struct CopyOptions {
  MetadataDirective directive = MetadataDirective::kCopy;
  bool copy_tags = true;  // x-amz-tagging-directive COPY (else put.tags)
  PutOptions put;  // conditions apply to the destination; metadata used for kReplace
  // The destination may be a second name of the source's file (a hard link:
  // no bytes written, the ETag kept) when it would get exactly the source's
  // metadata, tags, writer and mode, and both are on one file system;
  // otherwise the bytes are copied as without it. Safe because bucketd
  // never writes an object in place: a put to either key replaces that name
  // alone, and a tag change on a shared file first gives the key a file of
  // its own. The shared name keeps the source's Last-Modified.
  bool share_bytes = false;
};

struct ListRequest {
  std::string prefix;
  std::string delimiter;  // empty = none
  std::string start_after;
  std::string continuation_token;  // from a previous ListResult
  int max_keys = 1000;             // S3 caps at 1000; 0 returns nothing
};

struct ListResult {
  std::vector<ObjectInfo> contents;  // only key, size, etag, last_modified are filled
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;  // set when is_truncated
  int key_count = 0;                    // contents + common prefixes
};

// An object's file state, without its bytes or metadata.
struct ObjectStat {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t uid = 0;  // owner of the file: who wrote it, as far as the disk knows
};

// An object opened for reading: for readers that pull bytes (libarchive)
// rather than take them pushed through a ByteSink. The descriptor keeps
// reading this version of the object even if the key is replaced meanwhile.
struct ObjectReader {
  UniqueFd fd;
  ObjectInfo info;
};

// One version of an object being hashed a step at a time (Store::
// HeadObjectInSteps). It holds the file open, so it hashes that version
// even if the key is replaced meanwhile; Finish says whether it stayed whole.
class ObjectHash {
 public:
  virtual ~ObjectHash() = default;
  // Hashes up to `max_bytes` more; true once every byte is hashed.
  virtual Result<bool> Step(uint64_t max_bytes) = 0;
  // After Step said true: the object's info, its metadata cached as
  // HeadObject caches it. Unavailable when the file changed while it was
  // hashed (size or mtime differ): start again.
  virtual Result<ObjectInfo> Finish() = 0;
  // The file state hashed (size, mtime, owner).
  virtual const ObjectStat& stat() const = 0;
};

struct SteppedHead {
  std::optional<ObjectInfo> info;    // known now, or
  std::unique_ptr<ObjectHash> hash;  // to be stepped
};

struct DeleteError {
  std::string key;
  Status status;
};

struct Options {
  // Bytes per read/write chunk when streaming objects.
  size_t io_chunk_size = 1 << 20;
  // Create <root>/buckets if missing (a fresh store).
  bool create_if_missing = true;
  // Remove stale temp files of dead writers at Open.
  bool clean_staging = true;
};

// Error codes: NotFound (bucket or key; S3 NoSuchBucket / NoSuchKey),
// AlreadyExists (bucket exists, bucket not empty, key/path conflicts),
// InvalidArgument (names, keys, ranges), PreconditionFailed (conditional
// writes), PermissionDenied (a path resolving outside its bucket), IOError.
class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating when allowed) the store at `root`. The Env must outlive
  // the Store. Fails when the file system lacks user extended attributes.
  static Result<std::unique_ptr<Store>> Open(Env& env, const std::string& root,
                                             const Options& options = {});

  virtual const std::string& root() const = 0;
  // The Env the store was opened with: stages that write beside the store
  // (their private work in the state directory) use the same.
  virtual Env& env() const = 0;
  // <root>/buckets/<bucket>, for watchers.
  virtual std::string BucketPath(std::string_view bucket) const = 0;

  virtual Status CreateBucket(const std::string& bucket) = 0;
  // Only an empty bucket (no objects) can be deleted.
  virtual Status DeleteBucket(const std::string& bucket) = 0;
  // Sorted by name.
  virtual Result<std::vector<BucketInfo>> ListBuckets() = 0;
  virtual Status HeadBucket(const std::string& bucket) = 0;

  // The value an invocation gets in $BUCKETD_CHAIN for its chain
  // "<id>:<hop>", with a proof only bucketd can make (store/meta_key.h); and
  // the chain of such a value, InvalidArgument when the proof does not hold.
  virtual std::string SignChain(std::string_view chain) const = 0;
  // Whether this opener may read the store's metadata key, without which it
  // trusts no stored metadata and may set none (store/meta_key.h).
  virtual bool has_meta_key() const = 0;
  virtual Result<std::string> VerifyChain(std::string_view signed_chain) const = 0;
  // A key for another of bucketd's own proofs (session tokens: "sts"),
  // derived from the metadata key and the purpose; "" without the key.
  virtual std::string DerivedKey(std::string_view purpose) const = 0;

  virtual Result<ObjectInfo> PutObject(const std::string& bucket, const std::string& key,
                                       ByteSource& data, const PutOptions& options = {}) = 0;
  virtual Result<ObjectInfo> PutObjectFromFile(const std::string& bucket, const std::string& key,
                                               const std::string& local_path,
                                               const PutOptions& options = {}) = 0;
  virtual Result<ObjectInfo> PutObjectFromString(const std::string& bucket,
                                                 const std::string& key, std::string_view data,
                                                 const PutOptions& options = {}) = 0;
  virtual Result<ObjectInfo> HeadObject(const std::string& bucket, const std::string& key) = 0;
  // Writes the object's bytes (or the range) to `sink`; returns its info.
  virtual Result<ObjectInfo> GetObject(const std::string& bucket, const std::string& key,
                                       ByteSink& sink, const GetOptions& options = {}) = 0;
  virtual Result<ObjectReader> OpenObjectForRead(const std::string& bucket,
                                                const std::string& key) = 0;
  // HeadObject for a caller that must not block on a big file's MD5 (the
  // daemon's main loop): when the ETag is cached and valid, or the file
  // holds at most `max_inline_bytes`, the info now; else a hash to step.
  virtual Result<SteppedHead> HeadObjectInSteps(const std::string& bucket, const std::string& key,
                                                uint64_t max_inline_bytes) = 0;
  virtual Result<ObjectInfo> CopyObject(const std::string& src_bucket, const std::string& src_key,
                                        const std::string& dst_bucket, const std::string& dst_key,
                                        const CopyOptions& options = {}) = 0;
  // Replaces the tags of the object's current version, keeping its bytes,
  // ETag and mtime (no new version: the trail records no change). NotFound
  // for no such key; Unavailable when the file changed meanwhile.
  virtual Status SetObjectTags(const std::string& bucket, const std::string& key,
                               const std::map<std::string, std::string>& tags) = 0;
  // Deleting a key that does not exist succeeds, as in S3.
  virtual Status DeleteObject(const std::string& bucket, const std::string& key) = 0;
  // Returns the per-key failures (empty when all were deleted).
  virtual Result<std::vector<DeleteError>> DeleteObjects(const std::string& bucket,
                                                         const std::vector<std::string>& keys) = 0;
  virtual Result<ListResult> ListObjectsV2(const std::string& bucket,
                                           const ListRequest& request) = 0;

  // The file state of one object, cheaply (no hashing). NotFound when the key
  // is no object (absent, a plain directory, a link leading outside).
  virtual Result<ObjectStat> StatObject(const std::string& bucket, const std::string& key) = 0;
  // Calls fn for every object whose key starts with `dir_key` ("" for the
  // whole bucket, else a folder path ending in '/'), in no particular order,
  // reading no object bytes: the same objects listings show. Directories
  // removed during the scan are skipped; one that cannot be read (an
  // uploader's chmod 000) is skipped too and told to `unreadable` (its key,
  // ending in '/'): what lies beneath it is unknown, not gone.
  virtual Status ScanObjects(const std::string& bucket, const std::string& dir_key,
                             const std::function<void(const ObjectStat&)>& fn,
                             const std::function<void(const std::string& dir_key, const Status& why)>&
                                 unreadable = {}) = 0;
};

// S3's bucket naming rules (3-63 chars, lower case letters, digits, dots,
// hyphens, start and end with a letter or digit, no "..", not an IP
// address, no "xn--" prefix or "-s3alias" suffix). The message names the rule.
Status ValidateBucketName(std::string_view bucket);

// The key rules above. The message names the key and the rule.
Status ValidateKey(std::string_view key);

}  // namespace bucketd::store

#endif  // BUCKETD_STORE_STORE_H_
