// Cheap object enumeration for the event plane's reconciliation: file states
// only, never bytes or hashes.
#include <fcntl.h>

#include "store/store_impl.h"

namespace bucketd::store {

namespace {

ObjectStat ToObjectStat(std::string key, const FileStat& st, bool folder) {
  return ObjectStat{std::move(key), folder ? 0 : st.size, st.mtime_ns, st.uid};
}

}  // namespace

bool StoreImpl::IsFolderMarker(int dir_fd) {
  auto raw = fs_.GetXattr(dir_fd, kMetaXattr);
  if (!raw.ok()) return false;
  auto st = fs_.Stat(dir_fd);
  if (!st.ok()) return false;
  auto meta = meta_cache_.Decode(*raw, *st, meta_key_);
  return meta.ok() && meta->folder;
}

void StoreImpl::ScanDir(int dir_fd, const std::string& dir_key, const std::function<void(const ObjectStat&)>& fn,
                        const std::function<void(const std::string&, const Status&)>& unreadable) {
  auto entries = fs_.ReadDir(dir_fd);
  if (!entries.ok()) {
    // Removed meanwhile is nothing to report; anything else leaves its
    // contents unknown.
    if (!entries.status().IsNotFound() && unreadable) unreadable(dir_key, entries.status());
    return;
  }
  for (const DirEntry& e : *entries) {
    std::string key = dir_key + e.name;
    if (e.type == DirEntry::Type::kDir) {
      auto sub = fs_.OpenAt(dir_fd, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!sub.ok()) {
        if (!sub.status().IsNotFound() && unreadable) unreadable(key + "/", sub.status());
        continue;
      }
      if (IsFolderMarker(sub->get())) {
        if (auto st = fs_.Stat(sub->get()); st.ok()) fn(ToObjectStat(key + "/", *st, true));
      }
      ScanDir(sub->get(), key + "/", fn, unreadable);
    } else if (e.type == DirEntry::Type::kFile || e.type == DirEntry::Type::kSymlink) {
      auto fd = fs_.OpenBeneath(dir_fd, e.name, O_PATH);
      if (!fd.ok()) continue;
      auto st = fs_.Stat(fd->get());
      if (st.ok() && st->IsRegular()) fn(ToObjectStat(key, *st, false));
    }
  }
}

Status StoreImpl::ScanObjects(const std::string& bucket, const std::string& dir_key,
                              const std::function<void(const ObjectStat&)>& fn,
                              const std::function<void(const std::string&, const Status&)>& unreadable) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  if (dir_key.empty()) {
    ScanDir(bfd.get(), "", fn, unreadable);
    return Status::OK();
  }
  if (dir_key.back() != '/') return Status::InvalidArgument("scan prefix must end with '/'");
  RETURN_IF_ERROR(ValidateKey(dir_key));
  auto dir = fs_.OpenBeneath(bfd.get(), dir_key, O_RDONLY | O_DIRECTORY);
  if (!dir.ok()) {
    if (dir.status().IsNotFound()) return Status::OK();
    if (dir.status().code() != StatusCode::kPermissionDenied || !unreadable) return dir.status();
    unreadable(dir_key, dir.status());
    return Status::OK();
  }
  if (IsFolderMarker(dir->get())) {
    if (auto st = fs_.Stat(dir->get()); st.ok()) fn(ToObjectStat(dir_key, *st, true));
  }
  ScanDir(dir->get(), dir_key, fn, unreadable);
  return Status::OK();
}

Result<ObjectStat> StoreImpl::StatObject(const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(UniqueFd bfd, OpenBucket(bucket));
  RETURN_IF_ERROR(ValidateKey(key));
  bool folder = key.back() == '/';
  auto fd = fs_.OpenBeneath(bfd.get(), key, folder ? (O_RDONLY | O_DIRECTORY) : O_PATH);
  if (!fd.ok()) {
    // A link leading outside is no object; a path bucketd may not search
    // (an uploader's chmod 000 directory) is one it cannot see.
    bool outside = fd.status().code() == StatusCode::kPermissionDenied &&
                   fd.status().message().find("resolves outside") != std::string::npos;
    if (fd.status().IsNotFound() || outside) {
      return Status::NotFound("key '" + key + "' is no object in bucket '" + bucket + "'");
    }
    return Status(fd.status().code(), "key '" + key + "' in bucket '" + bucket + "': " + fd.status().message());
  }
  ASSIGN_OR_RETURN(FileStat st, fs_.Stat(fd->get()));
  if (folder ? !IsFolderMarker(fd->get()) : !st.IsRegular()) {
    return Status::NotFound("key '" + key + "' is no object in bucket '" + bucket + "'");
  }
  return ToObjectStat(key, st, folder);
}

}  // namespace bucketd::store
