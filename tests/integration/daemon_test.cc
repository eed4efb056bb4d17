// bucketd in the foreground: flags, state directory and its lock, recovery
// at start, clean exit on SIGTERM.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "tests/test_util.h"

namespace bucketd {
namespace {

using testing::Exists;
using testing::TempDir;

// Polls `cond` every 10 ms for up to 10 s.
bool Eventually(const std::function<bool()>& cond) {
  for (int i = 0; i < 1000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string Bucketd() { return testing::BinDir() + "/bucketd"; }

TEST(DaemonTest, RunsInForegroundAndExitsZeroOnSigterm) {
  TempDir tmp;
  std::string root = tmp / "root";
  ::mkdir(root.c_str(), 0755);
  ::mkdir((root + "/.staging").c_str(), 0755);
  testing::WriteFile(root + "/.staging/put-1-0-0", "left by a writer that died");
  int pid = testing::Spawn({Bucketd(), "--root", root});
  ASSERT_TRUE(Eventually(
      [&] { return testing::ReadFile(root + "/.bucketd/lock") == std::to_string(pid) + "\n"; }));
  EXPECT_TRUE(Exists(root + "/buckets"));
  EXPECT_FALSE(Exists(root + "/.staging/put-1-0-0"));  // cleaned at start
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_EQ(testing::Wait(pid), 0);
}

TEST(DaemonTest, SecondDaemonOnTheSameStateDirectoryIsRefused) {
  TempDir tmp;
  std::string root = tmp / "root";
  std::string state = tmp / "state";
  int first = testing::Spawn({Bucketd(), "--root", root, "--state-dir", state});
  ASSERT_TRUE(Eventually([&] { return testing::ReadFile(state + "/lock") == std::to_string(first) + "\n"; }));
  auto second = testing::Run({Bucketd(), "--root", root, "--state-dir", state});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("in use by another bucketd (pid " + std::to_string(first) + ")"),
            std::string::npos)
      << second.err;
  EXPECT_FALSE(Exists(root + "/.bucketd"));  // --state-dir was honoured
  ::kill(first, SIGTERM);
  EXPECT_EQ(testing::Wait(first), 0);
}

TEST(DaemonTest, StateDirectoryFromSystemdEnvironment) {
  TempDir tmp;
  std::string root = tmp / "root";
  int pid = testing::Spawn({Bucketd(), "--root", root}, -1, {"STATE_DIRECTORY=" + (tmp / "sd-state")});
  ASSERT_TRUE(Eventually([&] { return Exists(tmp / "sd-state/lock"); }));
  ::kill(pid, SIGTERM);
  EXPECT_EQ(testing::Wait(pid), 0);
}

TEST(DaemonTest, StartupErrorsAreOneLineAndNonZero) {
  TempDir tmp;
  auto bad_root = testing::Run({Bucketd(), "--root", "/proc/1/no-store-here"});
  EXPECT_NE(bad_root.exit_code, 0);
  EXPECT_NE(bad_root.err.find("/proc/1/no-store-here"), std::string::npos) << bad_root.err;
  EXPECT_EQ(std::count(bad_root.err.begin(), bad_root.err.end(), '\n'), 1) << bad_root.err;
  auto bad_config = testing::Run({Bucketd(), "--root", tmp / "r", "--config-dir", tmp / "missing"});
  EXPECT_EQ(bad_config.exit_code, 2);
  EXPECT_NE(bad_config.err.find("'" + (tmp / "missing") + "'"), std::string::npos) << bad_config.err;
  EXPECT_EQ(std::count(bad_config.err.begin(), bad_config.err.end(), '\n'), 1);
  auto bad_flag = testing::Run({Bucketd(), "--bogus"});
  EXPECT_EQ(bad_flag.exit_code, 2);
}

}  // namespace
}  // namespace bucketd
