// Opening a store, its staging area, and bucket operations.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/md5.h"
#include "store/store_impl.h"

namespace bucketd::store {

namespace {

constexpr char kBucketsDir[] = "buckets";
constexpr char kStagingDir[] = ".staging";

Result<UniqueFd> OpenOrMakeDir(Fs& fs, int parent, const std::string& name, bool create,
                               const std::string& shown) {
  auto fd = fs.OpenAt(parent, name, O_RDONLY | O_DIRECTORY);
  if (fd.ok() || !fd.status().IsNotFound() || !create) {
    if (!fd.ok()) return Status(fd.status().code(), "store: " + shown + ": " + fd.status().message());
    return fd;
  }
  Status s = fs.MkdirAt(parent, name, 0755);
  if (!s.ok() && !s.IsAlreadyExists()) return s;
  return fs.OpenAt(parent, name, O_RDONLY | O_DIRECTORY);
}

// Refuses file systems without user xattrs up front, rather than failing on
// the first put with a confusing error.
Status CheckXattrSupport(Fs& fs, int staging_fd, const std::string& root) {
  ASSIGN_OR_RETURN(UniqueFd probe, fs.OpenAt(staging_fd, ".", O_TMPFILE | O_RDWR, 0600));
  Status s = fs.SetXattr(probe.get(), "user.bucketd.probe", "1");
  if (!s.ok()) {
    return Status::Unavailable("store root '" + root +
                               "' is on a file system without user extended attributes, which "
                               "bucketd needs for object metadata: " + s.message());
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(Env& env, const std::string& root,
                                           const Options& options) {
  Fs& fs = env.fs();
  if (options.create_if_missing) {
    // Not world-readable: bucketd's user and its group (bucketctl's users).
    Status s = fs.MkdirAt(AT_FDCWD, root, 0750);
    if (!s.ok() && !s.IsAlreadyExists()) return Status(s.code(), "store root: " + s.message());
  }
  ASSIGN_OR_RETURN(UniqueFd root_fd,
                   OpenOrMakeDir(fs, AT_FDCWD, root, false, "root '" + root + "'"));
  ASSIGN_OR_RETURN(UniqueFd buckets_fd, OpenOrMakeDir(fs, root_fd.get(), kBucketsDir,
                                                      options.create_if_missing,
                                                      "'" + root + "/buckets'"));
  ASSIGN_OR_RETURN(UniqueFd staging_fd,
                   OpenOrMakeDir(fs, root_fd.get(), kStagingDir, true, "'" + root + "/.staging'"));
  RETURN_IF_ERROR(CheckXattrSupport(fs, staging_fd.get(), root));
  ASSIGN_OR_RETURN(std::string meta_key,
                   LoadMetaKey(fs, root_fd.get(), staging_fd.get(), root, options.create_if_missing));
  auto store = std::make_unique<StoreImpl>(env, root, options, std::move(buckets_fd),
                                           std::move(staging_fd), std::move(meta_key));
  if (options.clean_staging) RETURN_IF_ERROR(store->CleanStaging());
  return std::unique_ptr<Store>(std::move(store));
}

StoreImpl::StoreImpl(Env& env, std::string root, Options options, UniqueFd buckets_fd,
                     UniqueFd staging_fd, std::string meta_key)
    : env_(env),
      fs_(env.fs()),
      root_(std::move(root)),
      options_(std::move(options)),
      buckets_fd_(std::move(buckets_fd)),
      staging_fd_(std::move(staging_fd)),
      meta_key_(std::move(meta_key)) {}

std::string StoreImpl::SignChain(std::string_view chain) const {
  return meta_key_.empty() ? std::string(chain) : store::SignChain(meta_key_, chain);
}

Result<std::string> StoreImpl::VerifyChain(std::string_view signed_chain) const {
  return store::VerifyChain(meta_key_, signed_chain);
}

std::string StoreImpl::DerivedKey(std::string_view purpose) const {
  return meta_key_.empty() ? "" : HmacSha256(meta_key_, "bucketd derived key\n" + std::string(purpose));
}

Status StoreImpl::CleanStaging() {
  ASSIGN_OR_RETURN(auto entries, fs_.ReadDir(staging_fd_.get()));
  for (const DirEntry& e : entries) {
    auto fd = fs_.OpenAt(staging_fd_.get(), e.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (!fd.ok()) continue;  // already gone
    // A live writer holds an exclusive lock on its temp file from before the
    // file had a name until it is renamed away, so a free lock means a dead
    // writer.
    auto got = fs_.Lock(fd->get(), true, false);
    if (got.ok() && *got) (void)fs_.UnlinkAt(staging_fd_.get(), e.name, false);
  }
  return Status::OK();
}

std::string StoreImpl::BucketPath(std::string_view bucket) const {
  return root_ + "/" + kBucketsDir + "/" + std::string(bucket);
}

Result<UniqueFd> StoreImpl::OpenBucket(const std::string& bucket) {
  RETURN_IF_ERROR(ValidateBucketName(bucket));
  auto fd = fs_.OpenBeneath(buckets_fd_.get(), bucket, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) {
    if (fd.status().IsNotFound()) {
      return Status::NotFound("bucket '" + bucket + "' does not exist");
    }
    return Status(fd.status().code(), "bucket '" + bucket + "': " + fd.status().message());
  }
  return fd;
}

Status StoreImpl::CreateBucket(const std::string& bucket) {
  RETURN_IF_ERROR(ValidateBucketName(bucket));
  Status s = fs_.MkdirAt(buckets_fd_.get(), bucket, 0755);
  if (s.IsAlreadyExists()) return Status::AlreadyExists("bucket '" + bucket + "' already exists");
  if (!s.ok()) return s;
  ASSIGN_OR_RETURN(UniqueFd fd, OpenBucket(bucket));
  (void)fs_.SetXattr(fd.get(), kBucketXattr, std::to_string(env_.clock().NowNanos()));
  return fs_.Fsync(buckets_fd_.get());
}

Status StoreImpl::HeadBucket(const std::string& bucket) { return OpenBucket(bucket).status(); }

Status StoreImpl::RemoveTree(int dir_fd) {
  ASSIGN_OR_RETURN(auto entries, fs_.ReadDir(dir_fd));
  for (const DirEntry& e : entries) {
    if (e.type == DirEntry::Type::kDir) {
      ASSIGN_OR_RETURN(UniqueFd sub, fs_.OpenAt(dir_fd, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      RETURN_IF_ERROR(RemoveTree(sub.get()));
      RETURN_IF_ERROR(fs_.UnlinkAt(dir_fd, e.name, true));
    } else {
      // Only directories are left in a bucket without objects, but a
      // dangling or escaping symlink is not an object either.
      RETURN_IF_ERROR(fs_.UnlinkAt(dir_fd, e.name, false));
    }
  }
  return Status::OK();
}

Status StoreImpl::DeleteBucket(const std::string& bucket) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenBucket(bucket));
  ListRequest one;
  one.max_keys = 1;
  ASSIGN_OR_RETURN(ListResult any, ListObjectsV2(bucket, one));
  if (!any.contents.empty()) {
    return Status::AlreadyExists("bucket '" + bucket + "' is not empty (BucketNotEmpty); key '" +
                                 any.contents[0].key + "' is still in it");
  }
  RETURN_IF_ERROR(RemoveTree(fd.get()));
  Status s = fs_.UnlinkAt(buckets_fd_.get(), bucket, true);
  if (s.IsAlreadyExists()) {
    return Status::AlreadyExists("bucket '" + bucket + "' is not empty (an object arrived)");
  }
  RETURN_IF_ERROR(s);
  return fs_.Fsync(buckets_fd_.get());
}

Result<std::vector<BucketInfo>> StoreImpl::ListBuckets() {
  ASSIGN_OR_RETURN(auto entries, fs_.ReadDir(buckets_fd_.get()));
  std::vector<BucketInfo> out;
  for (const DirEntry& e : entries) {
    if (e.type != DirEntry::Type::kDir || !ValidateBucketName(e.name).ok()) continue;
    auto fd = fs_.OpenAt(buckets_fd_.get(), e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd.ok()) continue;
    BucketInfo b{e.name, 0};
    auto created = fs_.GetXattr(fd->get(), kBucketXattr);
    if (created.ok()) {
      b.creation_date = std::atoll(created->c_str());
    } else if (auto st = fs_.Stat(fd->get()); st.ok()) {
      b.creation_date = st->mtime_ns;  // a directory made by hand
    }
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(),
            [](const BucketInfo& a, const BucketInfo& b) { return a.name < b.name; });
  return out;
}

std::string StoreImpl::NewTempName() {
  return "put-" + std::to_string(::getpid()) + "-" + std::to_string(temp_counter_.fetch_add(1)) +
         "-" + std::to_string(env_.clock().NowNanos());
}

}  // namespace bucketd::store
