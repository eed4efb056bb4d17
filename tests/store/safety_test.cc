// Path escapes, staging hygiene and failed writes: nothing outside a bucket
// is touched, nothing half-written becomes visible.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <sys/stat.h>

#include "common/md5.h"
#include "tests/store/store_fixture.h"

namespace bucketd::store {
namespace {

using testing::Exists;
using testing::ListDir;
using testing::ReadFile;
using testing::WriteFile;

class EscapeTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    outside_ = tmp_ / "outside";
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    WriteFile(outside_ + "/secret", "do not read");
    ASSERT_EQ(::symlink(outside_.c_str(), (BucketDir() + "/link-dir").c_str()), 0);
    ASSERT_EQ(::symlink((outside_ + "/secret").c_str(), (BucketDir() + "/link-file").c_str()), 0);
    ASSERT_EQ(::symlink("../../../outside/secret", (BucketDir() + "/rel-link").c_str()), 0);
  }
  std::string outside_;
};

TEST_F(EscapeTest, WritesThroughASymlinkOutAreRefusedAndTouchNothing) {
  auto r = Put("link-dir/planted", "x");
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(ListDir(outside_), std::vector<std::string>{"secret"});
  EXPECT_EQ(ReadFile(outside_ + "/secret"), "do not read");
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());
}

TEST_F(EscapeTest, ReadsThroughSymlinksOutAreRefused) {
  for (const char* key : {"link-dir/secret", "link-file", "rel-link"}) {
    auto r = store_->HeadObject("bkt", key);
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << key << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(key), std::string::npos);
    EXPECT_NE(Get(key).find("outside the bucket"), std::string::npos);
  }
  EXPECT_TRUE(AllKeys().empty());  // escaping links are not objects
}

TEST_F(EscapeTest, TraversalKeysAreRefusedBeforeAnyFileIsTouched) {
  for (const char* key : {"../buckets/other/x", "a/../../x", "/abs/path"}) {
    auto r = Put(key, "x");
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << key;
    EXPECT_NE(r.status().message().find(key), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(store_->CreateBucket("../evil").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ListDir(root_ + "/buckets"), std::vector<std::string>{"bkt"});
  EXPECT_EQ(ListDir(outside_), std::vector<std::string>{"secret"});
}

TEST_F(EscapeTest, SymlinksThatStayInsideWork) {
  ASSERT_TRUE(Put("real/data.txt", "inside").ok());
  ASSERT_EQ(::symlink("real/data.txt", (BucketDir() + "/alias.txt").c_str()), 0);
  EXPECT_EQ(Get("alias.txt"), "inside");
}

TEST_F(StoreTest, OpenRemovesTempFilesOfDeadWritersOnly) {
  WriteFile(root_ + "/.staging/put-999999-0-0", "half an object");
  WriteFile(root_ + "/.staging/put-live", "a writer still holds this");
  int live = ::open((root_ + "/.staging/put-live").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(live, 0);
  ASSERT_EQ(::flock(live, LOCK_EX), 0);
  Reopen();
  EXPECT_EQ(ListDir(root_ + "/.staging"), std::vector<std::string>{"put-live"});
  ::close(live);
  Reopen();
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());
}

// Fails the n-th fsync (1-based) of regular files or directories.
class FailingFsyncFs : public FsWrapper {
 public:
  using FsWrapper::FsWrapper;
  Status Fsync(int fd) override {
    if (++calls == fail_at) return Status::IOError("injected fsync failure");
    return FsWrapper::Fsync(fd);
  }
  int calls = 0;
  int fail_at = -1;
};

TEST_F(StoreTest, FailedFsyncLeavesTheOldVersionAndNoTempFile) {
  ASSERT_TRUE(Put("k", "old").ok());
  FailingFsyncFs fs(Env::Default().fs());
  Env env(fs, Env::Default().clock());
  Reopen(env);
  fs.calls = 0;
  fs.fail_at = 1;  // the temp file's fsync
  auto r = Put("k", "new");
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find("injected"), std::string::npos);
  EXPECT_EQ(Get("k"), "old");
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());
}

// A ByteSource that fails half-way, as a dropped network stream would.
class BrokenSource : public ByteSource {
 public:
  Result<size_t> Read(char* buf, size_t n) override {
    if (sent_) return Status::IOError("connection reset");
    sent_ = true;
    std::fill_n(buf, std::min<size_t>(n, 100), 'x');
    return std::min<size_t>(n, 100);
  }

 private:
  bool sent_ = false;
};

TEST_F(StoreTest, BrokenUploadStreamLeavesNothingVisible) {
  BrokenSource src;
  auto r = store_->PutObject("bkt", "partial/upload", src);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(store_->HeadObject("bkt", "partial/upload").status().IsNotFound());
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());
  EXPECT_TRUE(AllKeys().empty());
}

// Issue 13, item 3(b): a file truncated and rewritten while bucketd hashed
// it was described with the size of the stat before hashing and the ETag of
// a later version: an object that never existed.
class RewriteWhileHashingFs : public FsWrapper {
 public:
  using FsWrapper::FsWrapper;
  Result<size_t> PRead(int fd, char* buf, size_t n, uint64_t offset) override {
    if (!path.empty() && !done) {
      done = true;  // the writer: O_TRUNC, then a new, shorter version
      testing::WriteFile(path, "second version");
    }
    return FsWrapper::PRead(fd, buf, n, offset);
  }
  std::string path;
  bool done = false;
};

TEST_F(StoreTest, AFileRewrittenWhileItIsHashedIsDescribedByOneVersionOnly) {
  std::string file = root_ + "/buckets/bkt/rewritten.bin";
  testing::WriteFile(file, std::string(1 << 20, 'a'));  // dropped in by another program, no metadata yet
  RewriteWhileHashingFs fs(Env::Default().fs());
  Env env(fs, Env::Default().clock());
  Reopen(env);
  fs.path = file;
  auto head = store_->HeadObject("bkt", "rewritten.bin");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, 14u) << "the size of the version whose ETag this is";
  Md5 md5;
  md5.Update("second version");
  EXPECT_EQ(head->etag, "\"" + md5.HexDigest() + "\"");
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(head->last_modified, static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
}

}  // namespace
}  // namespace bucketd::store
