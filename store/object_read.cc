// Reading objects: HeadObject, GetObject and the metadata cache.
#include <fcntl.h>

#include <algorithm>
#include <memory>

#include "common/md5.h"
#include "store/store_impl.h"

namespace bucketd::store {

namespace {

Status KeyError(const Status& s, const std::string& bucket, const std::string& key) {
  if (s.IsNotFound()) {
    return Status::NotFound("key '" + key + "' does not exist in bucket '" + bucket + "'");
  }
  if (s.code() == StatusCode::kPermissionDenied) {
    return Status::PermissionDenied("key '" + key + "' in bucket '" + bucket +
                                    "' resolves outside the bucket or is not readable: " +
                                    s.message());
  }
  return Status(s.code(), "key '" + key + "' in bucket '" + bucket + "': " + s.message());
}

}  // namespace

ObjectInfo MakeObjectInfo(const std::string& key, const FileStat& st, const StoredMeta& meta) {
  ObjectInfo info;
  info.key = key;
  // Size, time and ETag of one and the same version: the ones LoadMeta
  // validated, not the stat taken before hashing (a writer may have
  // truncated and rewritten the file meanwhile).
  info.size = meta.folder ? 0 : meta.size;
  info.etag = meta.etag;
  info.last_modified = meta.folder ? st.mtime_ns : meta.mtime_ns;
  info.content_type = meta.content_type.empty() ? kDefaultContentType : meta.content_type;
  info.user_metadata = meta.user_metadata;
  info.headers = meta.headers;
  info.caller = meta.caller;
  info.tags = meta.tags;
  return info;
}

StoredMeta StoreImpl::CachedMeta(int fd, const FileStat& st, bool* valid) {
  *valid = false;
  auto cached = fs_.GetXattr(fd, kMetaXattr);
  if (!cached.ok()) return {};
  auto decoded = meta_cache_.Decode(*cached, st, meta_key_);
  // One bucketd did not write (an uploader's forgery, an older version) is
  // ignored whole, as if the file had none.
  if (!decoded.ok()) return {};
  *valid = decoded->folder || (decoded->size == st.size && decoded->mtime_ns == st.mtime_ns);
  // A stale record of bucketd's keeps what describes the object
  // (Content-Type, user metadata); what describes the bytes is recomputed.
  return std::move(decoded).value();
}

void StoreImpl::CacheMeta(int fd, const FileStat& after, const StoredMeta& meta) {
  // Best effort: a file owned by someone else, or a read-only mount, still
  // yields correct metadata, just not cached. Without the key a cache would
  // be untrusted, and would replace a sealed one.
  if (!meta_key_.empty()) (void)fs_.SetXattr(fd, kMetaXattr, EncodeMeta(meta, after, meta_key_));
}

struct MetaHasher::State {
  State(Fs& f, int d, const FileStat& st, StoredMeta base, size_t chunk)
      : fs(f),
        fd(d),
        start(st),
        meta(std::move(base)),
        // Sized to the file (small objects are the common case), never zero-filled.
        buf_size(static_cast<size_t>(std::min<uint64_t>(chunk, st.size + 1))),
        buf(new char[buf_size]) {}
  Fs& fs;
  int fd;
  FileStat start;
  StoredMeta meta;
  size_t buf_size;
  std::unique_ptr<char[]> buf;
  Md5 md5;
  uint64_t off = 0;
  bool done = false;
};

MetaHasher::MetaHasher(Fs& fs, int fd, const FileStat& st, StoredMeta base, size_t chunk)
    : s_(std::make_unique<State>(fs, fd, st, std::move(base), chunk)) {}

MetaHasher::~MetaHasher() = default;

Result<bool> MetaHasher::Step(uint64_t max_bytes) {
  for (uint64_t done = 0; !s_->done && done < max_bytes;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(s_->buf_size, max_bytes - done));
    ASSIGN_OR_RETURN(size_t n, s_->fs.PRead(s_->fd, s_->buf.get(), want, s_->off));
    if (n == 0) {
      s_->done = true;
      break;
    }
    s_->md5.Update(std::string_view(s_->buf.get(), n));
    s_->off += n;
    done += n;
  }
  return s_->done;
}

Result<StoredMeta> MetaHasher::Finish(FileStat* after) {
  ASSIGN_OR_RETURN(*after, s_->fs.Stat(s_->fd));
  // Size, mtime and ETag of one and the same version: the file ended where
  // the hash did and was not written meanwhile.
  if (!s_->done || after->size != s_->off || after->mtime_ns != s_->start.mtime_ns) {
    return Status::Unavailable("the file changed while its ETag was computed");
  }
  StoredMeta meta = s_->meta;
  meta.etag = "\"" + s_->md5.HexDigest() + "\"";
  meta.size = s_->off;
  meta.mtime_ns = after->mtime_ns;
  meta.folder = false;
  return meta;
}

Result<StoredMeta> StoreImpl::LoadMeta(int fd, const FileStat& st, const std::string& key) {
  bool valid = false;
  StoredMeta base = CachedMeta(fd, st, &valid);
  if (valid) return base;
  FileStat now = st;
  for (int attempt = 0; attempt < 3; ++attempt) {
    MetaHasher hasher(fs_, fd, now, base, options_.io_chunk_size);
    RETURN_IF_ERROR(hasher.Step(UINT64_MAX).status());
    FileStat after;
    auto meta = hasher.Finish(&after);
    if (meta.ok()) {
      CacheMeta(fd, after, *meta);
      return meta;
    }
    if (meta.status().code() != StatusCode::kUnavailable) return meta.status();
    now = after;  // still being written by another program; read again
  }
  return Status::Unavailable("key '" + key + "' keeps changing while its ETag is computed");
}

namespace {

// Store::HeadObjectInSteps's hash: the open file and its hasher.
class SteppedObjectHash final : public ObjectHash {
 public:
  SteppedObjectHash(StoreImpl& store, UniqueFd fd, const FileStat& st, StoredMeta base, std::string key)
      : store_(store),
        fd_(std::move(fd)),
        stat_{key, st.size, st.mtime_ns, st.uid},
        hasher_(store.fs(), fd_.get(), st, std::move(base), store.io_chunk_size()),
        key_(std::move(key)) {}
  Result<bool> Step(uint64_t max_bytes) override { return hasher_.Step(max_bytes); }
  Result<ObjectInfo> Finish() override {
    FileStat after;
    ASSIGN_OR_RETURN(StoredMeta meta, hasher_.Finish(&after));
    store_.CacheMeta(fd_.get(), after, meta);
    return MakeObjectInfo(key_, after, meta);
  }
  const ObjectStat& stat() const override { return stat_; }

 private:
  StoreImpl& store_;
  UniqueFd fd_;
  ObjectStat stat_;
  MetaHasher hasher_;
  std::string key_;
};

}  // namespace

Result<SteppedHead> StoreImpl::HeadObjectInSteps(const std::string& bucket, const std::string& key,
                                                 uint64_t max_inline_bytes) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  ASSIGN_OR_RETURN(OpenedObject obj, OpenObject(bfd.get(), bucket, key, max_inline_bytes));
  SteppedHead head;
  if (!obj.meta_pending) {
    head.info = MakeObjectInfo(key, obj.stat, obj.meta);
    return head;
  }
  head.hash = std::make_unique<SteppedObjectHash>(*this, std::move(obj.fd), obj.stat, std::move(obj.meta), key);
  return head;
}

Result<StoreImpl::OpenedObject> StoreImpl::OpenObject(int bucket_fd, const std::string& bucket,
                                                      const std::string& key, uint64_t max_hash_bytes) {
  RETURN_IF_ERROR(ValidateKey(key));
  bool folder = key.back() == '/';
  auto fd = fs_.OpenBeneath(bucket_fd, key, O_RDONLY | O_NONBLOCK | (folder ? O_DIRECTORY : 0));
  if (!fd.ok()) return KeyError(fd.status(), bucket, key);
  OpenedObject obj;
  obj.fd = std::move(fd).value();
  auto st = fs_.Stat(obj.fd.get());
  if (!st.ok()) return KeyError(st.status(), bucket, key);
  obj.stat = *st;
  if (folder) {
    auto raw = fs_.GetXattr(obj.fd.get(), kMetaXattr);
    auto meta = raw.ok() ? meta_cache_.Decode(*raw, obj.stat, meta_key_) : Result<StoredMeta>(raw.status());
    if (!meta.ok() || !meta->folder) return KeyError(Status::NotFound(""), bucket, key);
    obj.meta = std::move(meta).value();
    return obj;
  }
  if (!obj.stat.IsRegular()) return KeyError(Status::NotFound(""), bucket, key);
  if (obj.stat.size > max_hash_bytes) {
    bool valid = false;
    obj.meta = CachedMeta(obj.fd.get(), obj.stat, &valid);
    obj.meta_pending = !valid;
    return obj;
  }
  auto meta = LoadMeta(obj.fd.get(), obj.stat, key);
  if (!meta.ok()) return KeyError(meta.status(), bucket, key);
  obj.meta = std::move(meta).value();
  return obj;
}

Result<ObjectInfo> StoreImpl::HeadObject(const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  ASSIGN_OR_RETURN(OpenedObject obj, OpenObject(bfd.get(), bucket, key));
  return MakeObjectInfo(key, obj.stat, obj.meta);
}

Result<ObjectReader> StoreImpl::OpenObjectForRead(const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  ASSIGN_OR_RETURN(OpenedObject obj, OpenObject(bfd.get(), bucket, key));
  ObjectReader reader;
  reader.info = MakeObjectInfo(key, obj.stat, obj.meta);
  reader.fd = std::move(obj.fd);
  return reader;
}

Result<ObjectInfo> StoreImpl::GetObject(const std::string& bucket, const std::string& key,
                                        ByteSink& sink, const GetOptions& options) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  ASSIGN_OR_RETURN(OpenedObject obj, OpenObject(bfd.get(), bucket, key));
  ObjectInfo info = MakeObjectInfo(key, obj.stat, obj.meta);
  uint64_t begin = 0, end = info.size;  // [begin, end)
  if (options.range) {
    Status in_range = options.range->Resolve(info.size, &begin, &end);
    if (!in_range.ok()) return Status::InvalidArgument(in_range.message() + " for key '" + key + "'");
  }
  if (obj.meta.folder || begin >= end) return info;
  size_t buf_size = static_cast<size_t>(std::min<uint64_t>(options_.io_chunk_size, end - begin));
  std::unique_ptr<char[]> buf(new char[buf_size]);
  for (uint64_t off = begin; off < end;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf_size, end - off));
    ASSIGN_OR_RETURN(size_t n, fs_.PRead(obj.fd.get(), buf.get(), want, off));
    if (n == 0) {
      return Status::IOError("key '" + key + "' was truncated while being read");
    }
    RETURN_IF_ERROR(sink.Write(std::string_view(buf.get(), n)));
    off += n;
  }
  return info;
}

}  // namespace bucketd::store
