#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/file_util.h"
#include "tests/fake_clock.h"

namespace bucketd {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TEST(FileWatchTest, LooksAtMostEveryTenthOfASecondUnlessForced) {
  std::string dir = ::testing::TempDir() + "/file_watch_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string path = dir + "/iam.json";
  testing::FakeClock clock(1'000'000'000'000);
  FileWatch watch(path);
  Fs& fs = Env::Default().fs();

  auto changed = watch.Changed(fs, clock.NowNanos());
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed) << "absent at the first look, absent before";
  Write(path, "{}");
  EXPECT_FALSE(*watch.Changed(fs, clock.NowNanos() + 1)) << "not looked at again so soon";
  EXPECT_TRUE(*watch.Changed(fs, clock.NowNanos() + 1, /*force=*/true));
  EXPECT_TRUE(watch.exists());
  Write(path, "{\"v\": 1}");
  clock.Advance(FileWatch::kRecheckNanos - 1);
  EXPECT_FALSE(*watch.Changed(fs, clock.NowNanos()));
  clock.Advance(2);
  EXPECT_TRUE(*watch.Changed(fs, clock.NowNanos())) << "due again";
  EXPECT_FALSE(*watch.Changed(fs, clock.NowNanos() + FileWatch::kRecheckNanos)) << "due, but unchanged";
  std::filesystem::remove(path);
  // A clock set back makes the next look due at once.
  EXPECT_TRUE(*watch.Changed(fs, clock.NowNanos() - 5'000'000'000));
  EXPECT_FALSE(watch.exists());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bucketd
