// The Store implementation's shape, shared by store_impl.cc (buckets, puts,
// gets, deletes) and list_objects.cc (ListObjectsV2).
#ifndef BUCKETD_STORE_STORE_IMPL_H_
#define BUCKETD_STORE_STORE_IMPL_H_

#include <atomic>
#include <string>

#include "store/meta_key.h"
#include "store/object_meta.h"
#include "store/store.h"

namespace bucketd::store {

class StoreImpl final : public Store {
 public:
  StoreImpl(Env& env, std::string root, Options options, UniqueFd buckets_fd,
            UniqueFd staging_fd, std::string meta_key);

  // Removes temp files left by writers that died (their lock is free).
  Status CleanStaging();

  const std::string& root() const override { return root_; }
  Env& env() const override { return env_; }
  std::string BucketPath(std::string_view bucket) const override;
  Status CreateBucket(const std::string& bucket) override;
  Status DeleteBucket(const std::string& bucket) override;
  Result<std::vector<BucketInfo>> ListBuckets() override;
  Status HeadBucket(const std::string& bucket) override;
  std::string SignChain(std::string_view chain) const override;
  bool has_meta_key() const override { return !meta_key_.empty(); }
  Result<std::string> VerifyChain(std::string_view signed_chain) const override;
  std::string DerivedKey(std::string_view purpose) const override;
  Result<ObjectInfo> PutObject(const std::string& bucket, const std::string& key,
                               ByteSource& data, const PutOptions& options) override;
  Result<ObjectInfo> PutObjectFromFile(const std::string& bucket, const std::string& key,
                                       const std::string& local_path,
                                       const PutOptions& options) override;
  Result<ObjectInfo> PutObjectFromString(const std::string& bucket, const std::string& key,
                                         std::string_view data, const PutOptions& options) override;
  Result<ObjectInfo> HeadObject(const std::string& bucket, const std::string& key) override;
  Result<ObjectReader> OpenObjectForRead(const std::string& bucket, const std::string& key) override;
  Result<SteppedHead> HeadObjectInSteps(const std::string& bucket, const std::string& key,
                                        uint64_t max_inline_bytes) override;
  Result<ObjectInfo> GetObject(const std::string& bucket, const std::string& key, ByteSink& sink,
                               const GetOptions& options) override;
  Result<ObjectInfo> CopyObject(const std::string& src_bucket, const std::string& src_key,
                                const std::string& dst_bucket, const std::string& dst_key,
                                const CopyOptions& options) override;
  Status SetObjectTags(const std::string& bucket, const std::string& key,
                       const std::map<std::string, std::string>& tags) override;
  Status DeleteObject(const std::string& bucket, const std::string& key) override;
  Result<std::vector<DeleteError>> DeleteObjects(const std::string& bucket,
                                                 const std::vector<std::string>& keys) override;
  Result<ListResult> ListObjectsV2(const std::string& bucket, const ListRequest& request) override;
  Result<ObjectStat> StatObject(const std::string& bucket, const std::string& key) override;
  Status ScanObjects(const std::string& bucket, const std::string& dir_key,
                     const std::function<void(const ObjectStat&)>& fn,
                     const std::function<void(const std::string&, const Status&)>& unreadable) override;

  // Validates the name and opens the bucket's directory.
  Result<UniqueFd> OpenBucket(const std::string& bucket);
  // Metadata of the open object file `fd` (stat `st`), from the cache when
  // it matches the file, else computed and cached.
  Result<StoredMeta> LoadMeta(int fd, const FileStat& st, const std::string& key);
  // The trusted record on `fd`, if any, and whether it is valid for `st`
  // (else its ETag must be computed; Content-Type and user metadata stay).
  StoredMeta CachedMeta(int fd, const FileStat& st, bool* valid);
  // Caches `meta` (computed for the file state `after`) on `fd`, sealed;
  // nothing without the key.
  void CacheMeta(int fd, const FileStat& after, const StoredMeta& meta);
  size_t io_chunk_size() const { return options_.io_chunk_size; }
  // Whether the directory `dir_fd` carries bucketd's folder-object record.
  bool IsFolderMarker(int dir_fd);
  Fs& fs() { return fs_; }

 private:
  struct OpenedObject {
    UniqueFd fd;
    FileStat stat;
    StoredMeta meta;
    bool meta_pending = false;  // ETag still to compute (only with a max_hash_bytes)
  };
  // Whether a copy with `put`'s metadata may be a second name of `src`'s
  // file (CopyOptions::share_bytes).
  bool CanShare(const OpenedObject& src, const PutOptions& put) const;
  // Places a new name of `src`'s file at dst_key under `put`'s conditions;
  // Unavailable when this pair cannot share a file (the caller copies).
  Result<ObjectInfo> ShareFile(const OpenedObject& src, const std::string& dst_bucket, const std::string& dst_key,
                               const PutOptions& put);
  // With `max_hash_bytes`, a file whose ETag would need more hashing than
  // that is returned with meta_pending (meta holds what is known).
  Result<OpenedObject> OpenObject(int bucket_fd, const std::string& bucket, const std::string& key,
                                  uint64_t max_hash_bytes = UINT64_MAX);
  // Opens directory `dir` (relative to the bucket) for writing `key` into
  // it, creating missing directories.
  Result<UniqueFd> OpenDirForWrite(int bucket_fd, const std::string& dir, const std::string& key);
  // Opens and flocks the object at parent/leaf, making sure the lock is on
  // the file the name still points to. NotFound when there is none.
  Status LockCurrent(int parent_fd, const std::string& leaf, const std::string& key,
                     UniqueFd* locked, FileStat* st);
  // The key/folder conflict error when parent/leaf is a directory, else s.
  Status ConflictOrStatus(int parent_fd, const std::string& leaf, const std::string& key,
                          const Status& s);
  Status MakeDirChild(int dir_fd, const std::string& name, const std::string& key,
                      const std::string& path_so_far);
  Result<ObjectInfo> PutFolder(int bucket_fd, const std::string& key, const PutOptions& options);
  // PutObject's work. `known_etag`: the bytes' ETag is already known (a copy
  // of an object whose cached ETag is valid), so they are not hashed again;
  // `still_valid` is asked once all bytes are read, before anything becomes
  // visible, whether that ETag still holds.
  Result<ObjectInfo> PutBytes(const std::string& bucket, const std::string& key, ByteSource& data,
                              const PutOptions& options, const std::string* known_etag,
                              const std::function<Status()>& still_valid = {});
  Status PlaceTempFile(int bucket_fd, const std::string& key, const std::string& temp_name,
                       const PutOptions& options);
  // Removes `dir` and its ancestors while they are empty and not folders.
  void PruneEmptyDirs(int bucket_fd, std::string dir);
  Status RemoveTree(int dir_fd);
  void ScanDir(int dir_fd, const std::string& dir_key, const std::function<void(const ObjectStat&)>& fn,
               const std::function<void(const std::string&, const Status&)>& unreadable);
  std::string NewTempName();

  Env& env_;
  Fs& fs_;
  const std::string root_;
  const Options options_;
  UniqueFd buckets_fd_;
  UniqueFd staging_fd_;
  const std::string meta_key_;  // "" when this user may not read it (store/meta_key.h)
  VerifiedMetaCache meta_cache_;
  std::atomic<uint64_t> temp_counter_{0};
};

ObjectInfo MakeObjectInfo(const std::string& key, const FileStat& st, const StoredMeta& meta);

// Computes the ETag of one version of an open object file in steps.
class MetaHasher {
 public:
  // `base`: what the record keeps besides the ETag (Content-Type, user
  // metadata). `fd` must stay open while the hasher is used.
  MetaHasher(Fs& fs, int fd, const FileStat& st, StoredMeta base, size_t chunk);
  ~MetaHasher();
  // Hashes up to `max_bytes` more; true at the end of the file.
  Result<bool> Step(uint64_t max_bytes);
  // The record of the version hashed, or Unavailable when the file is no
  // longer in the state it was when hashing began. `after` gets its state.
  Result<StoredMeta> Finish(FileStat* after);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace bucketd::store

#endif  // BUCKETD_STORE_STORE_IMPL_H_
