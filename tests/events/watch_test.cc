// The event plane on real inotify and real directories.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <map>
#include <thread>

#include "tests/events/plane_fixture.h"

namespace bucketd::events {
namespace {

using testing::WriteFile;

class WatchTest : public PlaneTest {
 protected:
  void SetUp() override {
    PlaneTest::SetUp();
    StartPlane(NewInotifyWatcher());
  }
  size_t Count(const std::string& line) {
    auto lines = sink_.Lines();
    return static_cast<size_t>(std::count(lines.begin(), lines.end(), line));
  }
};

TEST_F(WatchTest, CreateOverwriteRenameIntoPlaceDelete) {
  WriteFile(Bucket() + "/a.txt", "v1");
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() == 1; }));
  WriteFile(Bucket() + "/a.txt", "version 2");
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() == 2; }));
  EXPECT_EQ(sink_.records[1].change.size, 9u);
  WriteFile(tmp_ / "staged.bin", "finished elsewhere");
  ASSERT_EQ(::rename((tmp_ / "staged.bin").c_str(), (Bucket() + "/placed.bin").c_str()), 0);
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() == 3; }));
  ASSERT_EQ(::unlink((Bucket() + "/a.txt").c_str()), 0);
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() == 4; }));
  PumpFor(300);
  EXPECT_EQ(sink_.Lines(), (std::vector<std::string>{"PutObject data/a.txt", "PutObject data/a.txt",
                                                     "PutObject data/placed.bin",
                                                     "DeleteObject data/a.txt"}));
  EXPECT_LT(sink_.records[0].seq, sink_.records[1].seq);
}

TEST_F(WatchTest, DeepMkdirWithFilesCreatedAtOnceMissesNothing) {
  for (int i = 0; i < 20; ++i) {
    std::string dir = Bucket() + "/deep" + std::to_string(i) + "/b/c/d";
    ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
    WriteFile(dir + "/f", "x");
    WriteFile(Bucket() + "/deep" + std::to_string(i) + "/top", "y");
  }
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() >= 40; }));
  PumpFor(300);
  EXPECT_EQ(sink_.records.size(), 40u);
  EXPECT_EQ(Count("PutObject data/deep7/b/c/d/f"), 1u);
}

// A subdirectory made while its new parent is being watched (the parent is
// listed before its watch is added) is watched too, and what lands in it is
// recorded: the race that lost a whole delivery's events under load.
TEST_F(WatchTest, SubdirectoriesMadeWhileTheirParentIsBeingWatchedAreWatchedToo) {
  constexpr int kChains = 400;
  std::thread writer([&] {
    // The child is made a swept 0-2.9 ms after its parent (the store's
    // fsync between two mkdirs), so some may land inside the watcher's
    // list-then-watch window; hitting it needs the watcher preempted there,
    // which load does (a demo run lost a delivery 1 time in ~25 under a
    // build) and this test cannot force.
    for (int i = 0; i < kChains; ++i) {
      std::string top = Bucket() + "/race" + std::to_string(i);
      std::filesystem::create_directory(top);
      std::this_thread::sleep_for(std::chrono::microseconds((i % 30) * 100));
      std::filesystem::create_directories(top + "/a/b");
      WriteFile(top + "/a/b/f", "x");
    }
  });
  bool done = PumpUntil([&] { return sink_.records.size() >= kChains; }, 60000);
  writer.join();
  EXPECT_TRUE(done) << sink_.records.size() << " of " << kChains;
  PumpFor(300);
  std::set<std::string> keys;
  for (const auto& r : sink_.records) keys.insert(r.change.key);
  EXPECT_EQ(keys.size(), static_cast<size_t>(kChains));
}

TEST_F(WatchTest, BurstOfTenThousandFilesInHundredNewDirectories) {
  std::thread writer([&] {
    for (int d = 0; d < 100; ++d) {
      std::string dir = Bucket() + "/burst/d" + std::to_string(d);
      std::filesystem::create_directories(dir);
      for (int f = 0; f < 100; ++f) WriteFile(dir + "/f" + std::to_string(f), "data");
    }
  });
  bool done = PumpUntil([&] { return sink_.records.size() >= 10000; }, 120000);
  writer.join();
  ASSERT_TRUE(done) << sink_.records.size();
  PumpFor(500);
  EXPECT_EQ(sink_.records.size(), 10000u);
  std::set<std::string> keys;
  for (const auto& r : sink_.records) keys.insert(r.change.key);
  EXPECT_EQ(keys.size(), 10000u);
}

TEST_F(WatchTest, HalfWrittenFileFiresNothingUntilItsCloseThenOnce) {
  int fd = ::open((Bucket() + "/slow.csv").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "a,b\n", 4), 4);
  PumpFor(700);
  EXPECT_TRUE(sink_.records.empty());
  ASSERT_EQ(::write(fd, "1,2\n", 4), 4);
  ::close(fd);
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() == 1; }));
  PumpFor(500);
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].change.size, 8u);
}

TEST_F(WatchTest, HardLinkAndTmpfileLinkatBecomeObjects) {
  WriteFile(tmp_ / "whole", "complete file");
  ASSERT_EQ(::link((tmp_ / "whole").c_str(), (Bucket() + "/hard").c_str()), 0);
  int fd = ::open(Bucket().c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "tmp", 3), 3);
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ASSERT_EQ(::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, (Bucket() + "/tmpfile").c_str(),
                     AT_SYMLINK_FOLLOW), 0);
  ::close(fd);
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() >= 2; }));
  PumpFor(500);
  EXPECT_EQ(Count("PutObject data/hard"), 1u);
  EXPECT_EQ(Count("PutObject data/tmpfile"), 1u);
  EXPECT_EQ(sink_.records.size(), 2u);
}

TEST_F(WatchTest, StorePutsAreOneEventEachAndStagingNeverShows) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store_->PutObjectFromString("data", "p/" + std::to_string(i % 5), "v" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() >= 5; }));
  PumpFor(500);
  for (const auto& r : sink_.records) {
    EXPECT_EQ(r.change.key.rfind("p/", 0), 0u) << r.change.key;
    EXPECT_EQ(r.change.bucket, "data");
  }
  // Every record is a version that really existed; the last one per key is the final one.
  std::map<std::string, std::string> last;
  for (const auto& r : sink_.records) last[r.change.key] = r.change.etag;
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(last["p/" + std::to_string(k)], store_->HeadObject("data", "p/" + std::to_string(k))->etag);
  }
}

TEST_F(WatchTest, ChangesWhileStoppedAreRecordedExactlyOnceAtStart) {
  ASSERT_EQ(::mkdir((Bucket() + "/r").c_str(), 0755), 0);
  for (int i = 0; i < 700; ++i) WriteFile(Bucket() + "/r/" + std::to_string(i), "v1");
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() >= 700; }));
  StopPlane();
  // 1,000 changes while nothing watches: 400 new, 300 rewritten, 300 deleted.
  for (int i = 0; i < 400; ++i) WriteFile(Bucket() + "/r/new" + std::to_string(i), "n");
  for (int i = 0; i < 300; ++i) WriteFile(Bucket() + "/r/" + std::to_string(i), "version two");
  for (int i = 300; i < 600; ++i) ASSERT_EQ(::unlink((Bucket() + "/r/" + std::to_string(i)).c_str()), 0);
  sink_.records.clear();
  StartPlane(NewInotifyWatcher());  // catch-up happens inside Start, before "ready"
  size_t puts = 0, deletes = 0;
  for (const auto& r : sink_.records) (r.change.kind == ChangeKind::kCreated ? puts : deletes)++;
  EXPECT_EQ(puts, 700u);
  EXPECT_EQ(deletes, 300u);
  PumpFor(500);
  EXPECT_EQ(sink_.records.size(), 1000u);
  StopPlane();
  sink_.records.clear();
  StartPlane(NewInotifyWatcher());
  EXPECT_TRUE(sink_.records.empty());  // nothing changed: nothing recorded again
}

}  // namespace
}  // namespace bucketd::events

#include <sched.h>
#include <sys/mount.h>

namespace bucketd::events {
namespace {

// The state directory on a 2 MiB tmpfs in a mount namespace of this test
// process, so the disk can really fill up.
class DiskFullTest : public PlaneTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
    PlaneTest::SetUp();
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0);
    ASSERT_EQ(::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    ASSERT_EQ(::mount("tmpfs", state_.c_str(), "tmpfs", 0, "size=2m"), 0);
    options_.retry_ns = 100'000'000;
    StartPlane(NewInotifyWatcher());
  }
  void TearDown() override {
    PlaneTest::TearDown();
    (void)::umount2(state_.c_str(), MNT_DETACH);
  }
  void FillDisk() {
    int fd = ::open((state_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    std::string block(64 * 1024, 'f');
    while (::write(fd, block.data(), block.size()) > 0) {
    }
    std::string small(512, 'f');
    while (::write(fd, small.data(), small.size()) > 0) {
    }
    ::close(fd);
  }
};

TEST_F(DiskFullTest, AppendsStopWhileTheDiskIsFullAndNothingIsLostWhenSpaceReturns) {
  FillDisk();
  for (int i = 0; i < 200; ++i) WriteFile(Bucket() + "/full-" + std::to_string(i), std::string(100, 'x'));
  ASSERT_TRUE(PumpUntil([&] { return plane_->stats().degraded; }, 10000));
  EXPECT_TRUE(sink_.records.empty());
  bool logged = false;
  for (const auto& l : log_) logged |= l.find("cannot append to the trail") != std::string::npos;
  EXPECT_TRUE(logged);
  ASSERT_EQ(::unlink((state_ + "/filler").c_str()), 0);  // space returns
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() >= 200; }, 10000)) << sink_.records.size();
  PumpFor(300);
  EXPECT_FALSE(plane_->stats().degraded);
  std::set<std::string> keys;
  for (const auto& r : sink_.records) keys.insert(r.change.key);
  EXPECT_EQ(keys.size(), 200u);
  EXPECT_EQ(sink_.records.size(), 200u);
}

}  // namespace
}  // namespace bucketd::events
