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
  return info;
}

Result<StoredMeta> StoreImpl::LoadMeta(int fd, const FileStat& st, const std::string& key) {
  StoredMeta meta;
  auto cached = fs_.GetXattr(fd, kMetaXattr);
  if (cached.ok()) {
    auto decoded = DecodeMeta(*cached, st, meta_key_);
    if (decoded.ok()) {
      meta = std::move(decoded).value();
      if (meta.folder || (meta.size == st.size && meta.mtime_ns == st.mtime_ns)) return meta;
    }
    // A stale record of bucketd's: keep what describes the object
    // (Content-Type, user metadata), recompute what describes the bytes. One
    // it did not write (an uploader's forgery, an older version) is ignored
    // whole, as if the file had none.
  }
  FileStat now = st;
  // Sized to the file (small objects are the common case), never zero-filled.
  size_t buf_size = static_cast<size_t>(std::min<uint64_t>(options_.io_chunk_size, st.size + 1));
  std::unique_ptr<char[]> buf(new char[buf_size]);
  for (int attempt = 0; attempt < 3; ++attempt) {
    Md5 md5;
    uint64_t off = 0;
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, fs_.PRead(fd, buf.get(), buf_size, off));
      if (n == 0) break;
      md5.Update(std::string_view(buf.get(), n));
      off += n;
    }
    meta.etag = "\"" + md5.HexDigest() + "\"";
    meta.size = off;
    ASSIGN_OR_RETURN(FileStat after, fs_.Stat(fd));
    if (after.size == off && after.mtime_ns == now.mtime_ns) {
      meta.mtime_ns = after.mtime_ns;
      // Best effort: a file owned by someone else, or a read-only mount,
      // still yields correct metadata, just not cached. Without the key a
      // cache would be untrusted, and would replace a sealed one.
      if (!meta_key_.empty()) (void)fs_.SetXattr(fd, kMetaXattr, EncodeMeta(meta, after, meta_key_));
      return meta;
    }
    now = after;  // still being written by another program; read again
  }
  return Status::Unavailable("key '" + key + "' keeps changing while its ETag is computed");
}

Result<StoreImpl::OpenedObject> StoreImpl::OpenObject(int bucket_fd, const std::string& bucket,
                                                      const std::string& key) {
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
    auto meta = raw.ok() ? DecodeMeta(*raw, obj.stat, meta_key_) : Result<StoredMeta>(raw.status());
    if (!meta.ok() || !meta->folder) return KeyError(Status::NotFound(""), bucket, key);
    obj.meta = std::move(meta).value();
    return obj;
  }
  if (!obj.stat.IsRegular()) return KeyError(Status::NotFound(""), bucket, key);
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
    const ByteRange& r = *options.range;
    if (r.suffix_length) {
      if (*r.suffix_length == 0 || info.size == 0) {
        return Status::InvalidArgument("range is not satisfiable for key '" + key + "' of " +
                                       std::to_string(info.size) + " bytes (InvalidRange)");
      }
      begin = info.size - std::min<uint64_t>(*r.suffix_length, info.size);
    } else {
      if (*r.first >= info.size) {
        return Status::InvalidArgument("range starts at byte " + std::to_string(*r.first) +
                                       " but key '" + key + "' has " + std::to_string(info.size) +
                                       " bytes (InvalidRange)");
      }
      begin = *r.first;
      if (r.last) end = std::min<uint64_t>(*r.last + 1, info.size);
    }
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
