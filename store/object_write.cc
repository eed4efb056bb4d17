// Writing objects: puts (plain and conditional), folders, copies, deletes.
//
// Durability: bytes go to an O_TMPFILE in the staging directory, which is
// locked before it gets a name (so Open's cleaner can tell live temp files
// from dead ones), gets its metadata attribute, is fsync'd, linked under a
// temp name, renamed over the key, and the key's directory is fsync'd.
//
// Conditional writes: If-None-Match uses RENAME_NOREPLACE, which is atomic.
// Every replacing put holds an exclusive flock on the object it replaces
// while it checks and renames, so an If-Match check and the rename it guards
// cannot be split by another writer.
#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "common/md5.h"
#include "store/store_impl.h"

namespace bucketd::store {

namespace {

// Large enough that a small put asks nothing of the disk early.
constexpr uint64_t kWritebackStep = 8 << 20;

// Unavailable(`changed`) once the file at `fd` no longer has the size and
// mtime of `was`: someone wrote it while it was read.
Status UnchangedSince(Fs& fs, int fd, const FileStat& was, const std::string& changed) {
  ASSIGN_OR_RETURN(FileStat now, fs.Stat(fd));
  if (now.size != was.size || now.mtime_ns != was.mtime_ns) return Status::Unavailable(changed);
  return Status::OK();
}

class FdSource final : public ByteSource {
 public:
  FdSource(Fs& fs, int fd) : fs_(fs), fd_(fd) {}
  Result<size_t> Read(char* buf, size_t n) override { return fs_.Read(fd_, buf, n); }

 private:
  Fs& fs_;
  int fd_;
};

class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size());
    std::copy_n(data_.data(), k, buf);
    data_.remove_prefix(k);
    return k;
  }

 private:
  std::string_view data_;
};

std::string Unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

// ("a/b", "c") for "a/b/c"; ("", "c") for "c".
std::pair<std::string, std::string> SplitParent(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {"", std::string(path)};
  return {std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

std::string StripSlash(const std::string& key) {
  return key.back() == '/' ? key.substr(0, key.size() - 1) : key;
}

}  // namespace

Status StoreImpl::MakeDirChild(int dir_fd, const std::string& name, const std::string& key,
                               const std::string& path_so_far) {
  Status s = fs_.MkdirAt(dir_fd, name, 0755);
  if (s.ok()) return fs_.Fsync(dir_fd);
  if (!s.IsAlreadyExists()) return s;
  auto st = fs_.StatAt(dir_fd, name, false);
  if (st.ok() && st->IsDir()) return Status::OK();  // made by a concurrent writer
  return Status::AlreadyExists("key '" + key + "' conflicts with object '" + path_so_far +
                               "': a key cannot be both an object and a folder on disk");
}

Result<UniqueFd> StoreImpl::OpenDirForWrite(int bucket_fd, const std::string& dir,
                                            const std::string& key) {
  if (dir.empty()) return fs_.OpenBeneath(bucket_fd, ".", O_RDONLY | O_DIRECTORY);
  auto fast = fs_.OpenBeneath(bucket_fd, dir, O_RDONLY | O_DIRECTORY);
  if (fast.ok() || !fast.status().IsNotFound()) return fast;
  ASSIGN_OR_RETURN(UniqueFd cur, fs_.OpenBeneath(bucket_fd, ".", O_RDONLY | O_DIRECTORY));
  size_t start = 0;
  while (start < dir.size()) {
    size_t end = dir.find('/', start);
    if (end == std::string::npos) end = dir.size();
    std::string seg = dir.substr(start, end - start);
    auto next = fs_.OpenBeneath(cur.get(), seg, O_RDONLY | O_DIRECTORY);
    if (!next.ok() && next.status().IsNotFound()) {
      RETURN_IF_ERROR(MakeDirChild(cur.get(), seg, key, dir.substr(0, end)));
      next = fs_.OpenBeneath(cur.get(), seg, O_RDONLY | O_DIRECTORY);
    }
    if (!next.ok()) return next.status();
    cur = std::move(next).value();
    start = end + 1;
  }
  return cur;
}

Status StoreImpl::LockCurrent(int parent_fd, const std::string& leaf, const std::string& key,
                              UniqueFd* locked, FileStat* st) {
  for (;;) {
    auto fd = fs_.OpenBeneath(parent_fd, leaf, O_RDONLY | O_NONBLOCK);
    if (!fd.ok()) {
      if (fd.status().IsNotFound()) return Status::NotFound("key '" + key + "' does not exist");
      return fd.status();
    }
    RETURN_IF_ERROR(fs_.Lock(fd->get(), true, true).status());
    ASSIGN_OR_RETURN(FileStat mine, fs_.Stat(fd->get()));
    auto now = fs_.StatAt(parent_fd, leaf, true);
    if (now.ok() && now->ino == mine.ino && now->dev == mine.dev) {
      *locked = std::move(fd).value();
      *st = mine;
      return Status::OK();
    }
    // Replaced while we waited for the lock: check the new object instead.
  }
}

Status StoreImpl::ConflictOrStatus(int parent_fd, const std::string& leaf, const std::string& key,
                                   const Status& s) {
  auto st = fs_.StatAt(parent_fd, leaf, false);
  if (st.ok() && st->IsDir()) {
    return Status::AlreadyExists("key '" + key + "' conflicts with the keys under '" + key +
                                 "/': a key cannot be both an object and a folder on disk");
  }
  return s;
}

Status StoreImpl::PlaceTempFile(int bucket_fd, const std::string& key,
                                const std::string& temp_name, const PutOptions& options) {
  auto [dir, leaf] = SplitParent(key);
  // A concurrent delete may remove an emptied parent directory between our
  // mkdir and our rename; then the rename sees ENOENT and we go again.
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(UniqueFd parent, OpenDirForWrite(bucket_fd, dir, key));
    UniqueFd locked;
    Status s;
    if (options.if_none_match) {
      s = fs_.RenameAt(staging_fd_.get(), temp_name, parent.get(), leaf, true);
      if (s.IsAlreadyExists()) {
        s = ConflictOrStatus(parent.get(), leaf, key,
                             Status::PreconditionFailed("key '" + key +
                                                        "' already exists (If-None-Match: *)"));
      }
    } else {
      FileStat st;
      s = LockCurrent(parent.get(), leaf, key, &locked, &st);
      if (s.ok() && st.IsDir()) s = ConflictOrStatus(parent.get(), leaf, key, s);
      if (s.ok() && options.if_match) {
        ASSIGN_OR_RETURN(StoredMeta meta, LoadMeta(locked.get(), st, key));
        if (Unquote(meta.etag) != Unquote(*options.if_match)) {
          s = Status::PreconditionFailed("key '" + key + "' has ETag " + meta.etag + ", not " +
                                         *options.if_match + " (If-Match)");
        }
      } else if (s.IsNotFound() && !options.if_match) {
        s = Status::OK();
      }
      if (s.ok()) s = fs_.RenameAt(staging_fd_.get(), temp_name, parent.get(), leaf, false);
      if (!s.ok() && !s.IsNotFound() && s.code() != StatusCode::kPreconditionFailed) {
        s = ConflictOrStatus(parent.get(), leaf, key, s);
      }
    }
    if (s.ok()) return fs_.Fsync(parent.get());
    bool parent_vanished = s.IsNotFound() && !options.if_match;
    if (!parent_vanished || attempt >= 8) return s;
  }
}

Result<ObjectInfo> StoreImpl::PutFolder(int bucket_fd, const std::string& key,
                                        const PutOptions& options) {
  ASSIGN_OR_RETURN(UniqueFd dir, OpenDirForWrite(bucket_fd, StripSlash(key), key));
  ASSIGN_OR_RETURN(FileStat st, fs_.Stat(dir.get()));
  auto raw = fs_.GetXattr(dir.get(), kMetaXattr);
  auto old = raw.ok() ? meta_cache_.Decode(*raw, st, meta_key_) : Result<StoredMeta>(raw.status());
  bool exists = old.ok() && old->folder;
  if (options.if_none_match && exists) {
    return Status::PreconditionFailed("key '" + key + "' already exists (If-None-Match: *)");
  }
  if (options.if_match) {
    if (!exists) return Status::NotFound("key '" + key + "' does not exist (If-Match)");
    if (Unquote(*options.if_match) != Unquote(kEmptyEtag)) {
      return Status::PreconditionFailed("key '" + key + "' has ETag " + kEmptyEtag + " (If-Match)");
    }
  }
  StoredMeta meta;
  meta.folder = true;
  meta.etag = kEmptyEtag;
  meta.content_type = options.content_type;
  meta.user_metadata = options.user_metadata;
  meta.headers = options.headers;
  meta.caller = options.caller;
  meta.tags = options.tags;
  meta.mtime_ns = st.mtime_ns;
  RETURN_IF_ERROR(fs_.SetXattr(dir.get(), kMetaXattr, EncodeMeta(meta, st, meta_key_)));
  RETURN_IF_ERROR(fs_.Fsync(dir.get()));
  return MakeObjectInfo(key, st, meta);
}

Result<ObjectInfo> StoreImpl::PutObject(const std::string& bucket, const std::string& key,
                                        ByteSource& data, const PutOptions& options) {
  return PutBytes(bucket, key, data, options, nullptr);
}

Result<ObjectInfo> StoreImpl::PutBytes(const std::string& bucket, const std::string& key,
                                       ByteSource& data, const PutOptions& in_options,
                                       const std::string* known_etag,
                                       const std::function<Status()>& still_valid) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  RETURN_IF_ERROR(ValidateKey(key));
  PutOptions options = in_options;
  RETURN_IF_ERROR(ValidateUserMetadata(&options.user_metadata));
  if (meta_key_.empty() && (!options.content_type.empty() || !options.user_metadata.empty() ||
                            !options.headers.empty() || !options.caller.empty() || !options.etag.empty() ||
                            !options.tags.empty())) {
    // Unsealed, the metadata would be ignored by every reader: refuse
    // rather than lose it without a word.
    return Status::PermissionDenied("key '" + key + "': setting Content-Type or x-amz-meta-* needs the store's "
                                    "metadata key '" + root_ + "/" + kMetaKeyFile +
                                    "', which this user cannot read (run as bucketd's user or group)");
  }
  std::unique_ptr<char[]> buf(new char[options_.io_chunk_size]);  // not zero-filled
  if (key.back() == '/') {
    ASSIGN_OR_RETURN(size_t n, data.Read(buf.get(), options_.io_chunk_size));
    if (n != 0) {
      return Status::InvalidArgument("key '" + key +
                                     "' ends with '/', which bucketd stores as a folder: it must "
                                     "have no content");
    }
    return PutFolder(bfd.get(), key, options);
  }
  ASSIGN_OR_RETURN(UniqueFd tmp, fs_.OpenAt(staging_fd_.get(), ".", O_TMPFILE | O_WRONLY,
                                            options.private_object ? 0640 : 0644));
  RETURN_IF_ERROR(fs_.Lock(tmp.get(), true, false).status());
  Md5 md5;
  // Whose ETag the version gets: the caller's (known, a multipart's, or the
  // source's own once it ends), else the MD5 taken here.
  const std::string* given = known_etag            ? known_etag
                             : !options.etag.empty() ? &options.etag
                                                     : options.late_etag;
  uint64_t written = 0, handed_to_disk = 0;
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, data.Read(buf.get(), options_.io_chunk_size));
    if (n == 0) break;
    std::string_view chunk(buf.get(), n);
    if (!given) md5.Update(chunk);
    RETURN_IF_ERROR(fs_.WriteAll(tmp.get(), chunk));
    written += n;
    // The disk writes while the rest streams in, instead of all of it
    // during the fsync below.
    if (written - handed_to_disk >= kWritebackStep) {
      fs_.StartWriteback(tmp.get(), handed_to_disk, written - handed_to_disk);
      handed_to_disk = written;
    }
    if (options.progress) options.progress(written);
  }
  if (still_valid) RETURN_IF_ERROR(still_valid());
  ASSIGN_OR_RETURN(FileStat st, fs_.Stat(tmp.get()));
  StoredMeta meta;
  meta.size = st.size;
  meta.mtime_ns = st.mtime_ns;
  if (given && given->empty()) {  // only a late ETag can be
    return Status::InvalidArgument("key '" + key + "': the source ended without the ETag it was to compute");
  }
  meta.etag = given ? *given : "\"" + md5.HexDigest() + "\"";
  meta.content_type = options.content_type;
  meta.user_metadata = options.user_metadata;
  if (options.late_user_metadata) {
    meta.user_metadata.insert(options.late_user_metadata->begin(), options.late_user_metadata->end());
    RETURN_IF_ERROR(ValidateUserMetadata(&meta.user_metadata));
  }
  meta.headers = options.headers;
  if (options.late_headers) meta.headers.insert(options.late_headers->begin(), options.late_headers->end());
  meta.caller = options.caller;
  meta.tags = options.tags;
  RETURN_IF_ERROR(fs_.SetXattr(tmp.get(), kMetaXattr, EncodeMeta(meta, st, meta_key_)));
  RETURN_IF_ERROR(fs_.Fsync(tmp.get()));
  std::string temp_name = NewTempName();
  RETURN_IF_ERROR(fs_.LinkTmpFile(tmp.get(), staging_fd_.get(), temp_name));
  Status placed = PlaceTempFile(bfd.get(), key, temp_name, options);
  if (!placed.ok()) {
    (void)fs_.UnlinkAt(staging_fd_.get(), temp_name, false);
    return placed;
  }
  return MakeObjectInfo(key, st, meta);
}

Result<ObjectInfo> StoreImpl::PutObjectFromFile(const std::string& bucket, const std::string& key,
                                                const std::string& local_path,
                                                const PutOptions& options) {
  auto fd = fs_.OpenAt(AT_FDCWD, local_path, O_RDONLY);
  if (!fd.ok()) return Status(fd.status().code(), "local file: " + fd.status().message());
  ASSIGN_OR_RETURN(FileStat st, fs_.Stat(fd->get()));
  if (!st.IsRegular()) return Status::InvalidArgument("'" + local_path + "' is not a regular file");
  FdSource source(fs_, fd->get());
  return PutObject(bucket, key, source, options);
}

Result<ObjectInfo> StoreImpl::PutObjectFromString(const std::string& bucket,
                                                  const std::string& key, std::string_view data,
                                                  const PutOptions& options) {
  StringSource source(data);
  return PutObject(bucket, key, source, options);
}

Result<ObjectInfo> StoreImpl::CopyObject(const std::string& src_bucket, const std::string& src_key,
                                         const std::string& dst_bucket, const std::string& dst_key,
                                         const CopyOptions& options) {
  if (src_bucket == dst_bucket && src_key == dst_key &&
      options.directive == MetadataDirective::kCopy) {
    return Status::InvalidArgument(
        "copying '" + src_key +
        "' to itself without changing its metadata is not allowed (use the REPLACE directive)");
  }
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(src_bucket));
  ASSIGN_OR_RETURN(OpenedObject src, OpenObject(bfd.get(), src_bucket, src_key));
  PutOptions put = options.put;
  if (options.directive == MetadataDirective::kCopy) {
    put.content_type = src.meta.content_type;
    put.user_metadata = src.meta.user_metadata;
    put.headers = src.meta.headers;
  }
  if (options.copy_tags) put.tags = src.meta.tags;
  if (src.meta.folder) return PutObjectFromString(dst_bucket, dst_key, "", put);
  if (options.share_bytes && CanShare(src, put)) {
    auto shared = ShareFile(src, dst_bucket, dst_key, put);
    if (shared.ok() || shared.status().code() != StatusCode::kUnavailable) return shared;
    // Unavailable: this pair cannot share a file (another file system, a
    // source that changed); the copy below still can be made.
  }
  FdSource source(fs_, src.fd.get());
  // The source's ETag was checked against its size and mtime when it was
  // opened; it holds for the copy if the file did not change while read.
  return PutBytes(dst_bucket, dst_key, source, put, &src.meta.etag, [&] {
    return UnchangedSince(fs_, src.fd.get(), src.stat, "'" + src_key + "' changed while it was being copied; copy it again");
  });
}

bool StoreImpl::CanShare(const OpenedObject& src, const PutOptions& put) const {
  const StoredMeta& m = src.meta;
  // Only a file bucketd's user owns, readable by no one a copy would keep
  // out: whoever else owns a file may write it in place, under both names.
  mode_t allowed = put.private_object ? 0640 : 0644;
  return !meta_key_.empty() && !src.meta_pending && m.size == src.stat.size && m.mtime_ns == src.stat.mtime_ns &&
         src.stat.uid == ::geteuid() && (src.stat.mode & 07777 & ~allowed) == 0 && put.content_type == m.content_type &&
         put.user_metadata == m.user_metadata && put.headers == m.headers && put.caller == m.caller &&
         put.tags == m.tags && put.etag.empty() && !put.late_etag && !put.late_headers &&
         !put.late_user_metadata;
}

Result<ObjectInfo> StoreImpl::ShareFile(const OpenedObject& src, const std::string& dst_bucket,
                                        const std::string& dst_key, const PutOptions& put) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(dst_bucket));
  RETURN_IF_ERROR(ValidateKey(dst_key));
  if (dst_key.back() == '/') return Status::Unavailable("a folder key has no bytes to share");
  // The source may be a file someone else wrote and never flushed; the new
  // name must not outlive a crash that its bytes do not.
  RETURN_IF_ERROR(fs_.Fsync(src.fd.get()));
  std::string temp_name = NewTempName();
  Status linked = fs_.LinkTmpFile(src.fd.get(), staging_fd_.get(), temp_name);
  if (!linked.ok()) return Status::Unavailable(linked.message());
  // Linked by descriptor, so it is the file whose record was checked; its
  // bytes must still be the ones that record describes.
  Status placed = UnchangedSince(fs_, src.fd.get(), src.stat, "the source changed while it was linked");
  if (placed.ok()) placed = PlaceTempFile(bfd.get(), dst_key, temp_name, put);
  if (!placed.ok()) {
    (void)fs_.UnlinkAt(staging_fd_.get(), temp_name, false);
    return placed;
  }
  return MakeObjectInfo(dst_key, src.stat, src.meta);
}

void StoreImpl::PruneEmptyDirs(int bucket_fd, std::string dir) {
  while (!dir.empty()) {
    auto [up, name] = SplitParent(dir);
    auto parent = fs_.OpenBeneath(bucket_fd, up.empty() ? "." : up, O_RDONLY | O_DIRECTORY);
    if (!parent.ok()) return;
    auto self = fs_.OpenBeneath(parent->get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!self.ok()) return;
    auto raw = fs_.GetXattr(self->get(), kMetaXattr);
    if (raw.ok()) return;  // a folder object keeps its directory
    if (!fs_.UnlinkAt(parent->get(), name, true).ok()) return;  // not empty
    (void)fs_.Fsync(parent->get());
    dir = up;
  }
}

Status StoreImpl::SetObjectTags(const std::string& bucket, const std::string& key,
                                const std::map<std::string, std::string>& tags) {
  if (meta_key_.empty()) {
    return Status::PermissionDenied("key '" + key + "': tags need the store's metadata key '" + root_ + "/" +
                                    kMetaKeyFile + "', which this user cannot read");
  }
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  ASSIGN_OR_RETURN(OpenedObject obj, OpenObject(bfd.get(), bucket, key));
  // The record is sealed to the file state its ETag was computed for.
  ASSIGN_OR_RETURN(FileStat now, fs_.Stat(obj.fd.get()));
  const std::string changed = "'" + key + "' changed while its tags were set; set them again";
  if (!obj.meta.folder && (now.size != obj.meta.size || now.mtime_ns != obj.meta.mtime_ns)) {
    return Status::Unavailable(changed);
  }
  if (now.nlink > 1 && !obj.meta.folder) {
    // The record is the file's, so on a file another key shares (a copy
    // made with share_bytes, or a link made by hand) setting it in place
    // would tag both: this key gets a file of its own first, replacing only
    // the version whose tags were asked for.
    PutOptions put;
    put.content_type = obj.meta.content_type;
    put.user_metadata = obj.meta.user_metadata;
    put.headers = obj.meta.headers;
    put.caller = obj.meta.caller;
    put.tags = tags;
    put.if_match = obj.meta.etag;
    put.private_object = (now.mode & 07777) == 0640;
    FdSource source(fs_, obj.fd.get());
    return PutBytes(bucket, key, source, put, &obj.meta.etag, [&] {
      return UnchangedSince(fs_, obj.fd.get(), now, changed);
    }).status();
  }
  obj.meta.tags = tags;
  RETURN_IF_ERROR(fs_.SetXattr(obj.fd.get(), kMetaXattr, EncodeMeta(obj.meta, now, meta_key_)));
  return fs_.Fsync(obj.fd.get());
}

Status StoreImpl::DeleteObject(const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  RETURN_IF_ERROR(ValidateKey(key));
  if (key.back() == '/') {
    auto dir = fs_.OpenBeneath(bfd.get(), key, O_RDONLY | O_DIRECTORY);
    if (!dir.ok()) return dir.status().IsNotFound() ? Status::OK() : dir.status();
    Status s = fs_.RemoveXattr(dir->get(), kMetaXattr);
    if (!s.ok() && !s.IsNotFound()) return s;
    PruneEmptyDirs(bfd.get(), StripSlash(key));
    return Status::OK();
  }
  auto [dir, leaf] = SplitParent(key);
  auto parent = fs_.OpenBeneath(bfd.get(), dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
  if (!parent.ok()) return parent.status().IsNotFound() ? Status::OK() : parent.status();
  auto st = fs_.StatAt(parent->get(), leaf, false);
  if (!st.ok()) return st.status().IsNotFound() ? Status::OK() : st.status();
  if (st->IsDir()) return Status::OK();  // only keys under "<key>/" exist
  Status s = fs_.UnlinkAt(parent->get(), leaf, false);
  if (!s.ok() && !s.IsNotFound()) return s;
  RETURN_IF_ERROR(fs_.Fsync(parent->get()));
  PruneEmptyDirs(bfd.get(), dir);
  return Status::OK();
}

Result<std::vector<DeleteError>> StoreImpl::DeleteObjects(const std::string& bucket,
                                                          const std::vector<std::string>& keys) {
  RETURN_IF_ERROR(OpenBucket(bucket).status());
  if (keys.size() > 1000) {
    return Status::InvalidArgument("DeleteObjects takes at most 1000 keys, got " +
                                   std::to_string(keys.size()));
  }
  std::vector<DeleteError> errors;
  for (const std::string& key : keys) {
    Status s = DeleteObject(bucket, key);
    if (!s.ok()) errors.push_back({key, s});
  }
  return errors;
}

}  // namespace bucketd::store
