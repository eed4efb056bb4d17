// The store across processes: concurrent writers of one key, and writers
// killed with SIGKILL in the middle of a put.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "store/store.h"
#include "tests/integration/version_payload.h"
#include "tests/store/store_fixture.h"
#include "tests/test_util.h"

namespace bucketd {
namespace {

using testing::ListDir;
using testing::TempDir;

using store::StringSink;

class StoreProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "root";
    auto s = store::Store::Open(Env::Default(), root_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_TRUE(store_->CreateBucket("bkt").ok());
  }
  std::string Tool() { return testing::BinDir() + "/store_tool"; }

  TempDir tmp_;
  std::string root_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(StoreProcessTest, TwoProcessesWritingOneKeyThousandTimesNeverShowATornVersion) {
  constexpr int kPuts = 1000;
  ASSERT_TRUE(store_->PutObjectFromString("bkt", "shared/key", testing::VersionPayload(0, 0)).ok());
  int a = testing::Spawn({Tool(), "write-loop", root_, "bkt", "shared/key", std::to_string(kPuts), "1"});
  int b = testing::Spawn({Tool(), "write-loop", root_, "bkt", "shared/key", std::to_string(kPuts), "2"});
  std::atomic<bool> writers_done{false};
  int reads = 0, torn = 0;
  std::set<std::string> seen_versions;
  std::thread reader([&] {
    while (!writers_done) {
      StringSink sink;
      auto r = store_->GetObject("bkt", "shared/key", sink);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ++reads;
      if (!testing::IsCompleteVersion(sink.data())) {
        ++torn;
      } else {
        seen_versions.insert(sink.data().substr(0, sink.data().find('\n')));
      }
      EXPECT_EQ(r->size, sink.data().size());
    }
  });
  EXPECT_EQ(testing::Wait(a), 0);
  EXPECT_EQ(testing::Wait(b), 0);
  writers_done = true;
  reader.join();
  EXPECT_EQ(torn, 0);
  EXPECT_GT(reads, 100);
  EXPECT_GT(seen_versions.size(), 10u);  // the reader really raced the writers
  StringSink last;
  ASSERT_TRUE(store_->GetObject("bkt", "shared/key", last).ok());
  EXPECT_TRUE(last.data().find("seq=" + std::to_string(kPuts - 1)) != std::string::npos);
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());
}

TEST_F(StoreProcessTest, WriterKilledMidPutLeavesNothingVisible) {
  ASSERT_TRUE(store_->PutObjectFromString("bkt", "big", "the old version").ok());
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  int pid = testing::Spawn({Tool(), "put-stdin", root_, "bkt", "big"}, pipefd[0]);
  ::close(pipefd[0]);
  std::string chunk(1 << 20, 'x');
  for (int i = 0; i < 16; ++i) {  // 16 MiB of a larger object: the writer is mid-put
    ASSERT_EQ(::write(pipefd[1], chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
  }
  ::kill(pid, SIGKILL);
  EXPECT_EQ(testing::Wait(pid), -SIGKILL);
  ::close(pipefd[1]);
  StringSink sink;
  ASSERT_TRUE(store_->GetObject("bkt", "big", sink).ok());
  EXPECT_EQ(sink.data(), "the old version");
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());  // an unnamed O_TMPFILE dies with its writer
}

TEST_F(StoreProcessTest, WriterKilledBeforeRenameLeavesATempFileThatTheNextStartRemoves) {
  int pipefd[2];
  ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
  int pid = testing::Spawn({Tool(), "crash-before-rename", root_, "bkt", "new/key"}, pipefd[0]);
  ::close(pipefd[0]);
  std::string data(3 << 20, 'y');
  ASSERT_EQ(::write(pipefd[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(pipefd[1]);
  EXPECT_EQ(testing::Wait(pid), -SIGKILL);
  EXPECT_EQ(ListDir(root_ + "/.staging").size(), 1u);  // complete but never published
  EXPECT_TRUE(store_->HeadObject("bkt", "new/key").status().IsNotFound());
  store_.reset();
  auto reopened = store::Store::Open(Env::Default(), root_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE(ListDir(root_ + "/.staging").empty());
  EXPECT_TRUE((*reopened)->HeadObject("bkt", "new/key").status().IsNotFound());
}

}  // namespace
}  // namespace bucketd
