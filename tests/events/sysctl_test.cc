// Tests that change system-wide inotify limits (/proc/sys/fs/inotify/*).
// They run alone (RUN_SERIAL): a lowered limit would hit any other test
// watching files at the same moment.
#include <unistd.h>

#include <fstream>
#include <set>

#include "tests/events/plane_fixture.h"

namespace bucketd::events {
namespace {

using testing::WriteFile;

// Sets a /proc/sys value for the life of the object, then restores it.
class SysctlOverride {
 public:
  SysctlOverride(std::string path, long value) : path_(std::move(path)) {
    std::ifstream(path_) >> old_;
    std::ofstream(path_) << value;
  }
  ~SysctlOverride() { std::ofstream(path_) << old_; }

 private:
  std::string path_;
  long old_ = 0;
};

class WatchOverflowTest : public PlaneTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to lower fs.inotify.max_queued_events";
    PlaneTest::SetUp();
    SysctlOverride limit("/proc/sys/fs/inotify/max_queued_events", 32);
    StartPlane(NewInotifyWatcher());  // an inotify instance takes the limit when created
  }
};

TEST_F(WatchOverflowTest, OverflowRescansWithNoEventLostOrDoubled) {
  watcher_->TEST_PauseReading(true);
  for (int i = 0; i < 500; ++i) WriteFile(Bucket() + "/o" + std::to_string(i), "x");
  watcher_->TEST_PauseReading(false);
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() >= 500; }));
  PumpFor(300);
  EXPECT_EQ(sink_.records.size(), 500u);
  EXPECT_GE(plane_->stats().rescans, 1u);  // the overflow really happened
  std::set<std::string> keys;
  for (const auto& r : sink_.records) keys.insert(r.change.key);
  EXPECT_EQ(keys.size(), 500u);
}

}  // namespace
}  // namespace bucketd::events

namespace bucketd::events {
namespace {

class WatchLimitTest : public PlaneTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to lower fs.inotify.max_user_watches";
    PlaneTest::SetUp();
    options_.fallback_rescan_ns = 200'000'000;
    StartPlane(NewInotifyWatcher());
  }
};

TEST_F(WatchLimitTest, NewDirectoriesBeyondTheLimitAreFoundByRescansAndTheLogSaysWhatToDo) {
  {
    // Existing watches stay; no new one can be added while this is in force.
    SysctlOverride limit("/proc/sys/fs/inotify/max_user_watches", 1);
    ASSERT_EQ(::mkdir((Bucket() + "/unwatched").c_str(), 0755), 0);
    ASSERT_TRUE(PumpUntil([&] { return plane_->stats().watch_limited; }, 5000));
  }
  WriteFile(Bucket() + "/unwatched/late.csv", "found by a rescan");
  ASSERT_TRUE(PumpUntil([&] { return sink_.records.size() == 1; }, 10000));
  EXPECT_EQ(sink_.records[0].change.key, "unwatched/late.csv");
  bool logged = false;
  for (const auto& l : log_) {
    logged |= l.find("max_user_watches = 1") != std::string::npos &&
              l.find("sysctl fs.inotify.max_user_watches=") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

}  // namespace
}  // namespace bucketd::events

