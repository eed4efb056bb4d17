// Issue 5's crash test: 500 invocations of an exec target that records each
// invocation id in a file of its own; bucketd is killed with SIGKILL at
// random moments, 20 times, while the objects arrive; at the end every
// invocation ran exactly once and none is lost.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <random>

#include "tests/integration/pipeline_daemon.h"

namespace bucketd {
namespace {

TEST(RunnerCrashTest, FiveHundredInvocationsRunExactlyOnceThroughTwentyKills) {
  testing::TempDir tmp;
  testing::PipelineDaemon d(tmp.path());
  d.AddRule("record", "in/", "Record");
  d.AddProbeFunction("Record", "record", R"(,"DELAY_MS":"30")");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  ::mkdir((d.root() + "/buckets/data/in").c_str(), 0755);
  ::mkdir((d.root() + "/incoming").c_str(), 0755);
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();

  constexpr int kObjects = 500;
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; i < kObjects; ++i) {
      std::string name = "obj-" + std::to_string(i);
      testing::WriteFile(d.root() + "/incoming/" + name, name);
      // Renamed into the watched prefix, as a finished upload lands.
      ::rename((d.root() + "/incoming/" + name).c_str(), (d.root() + "/buckets/data/in/" + name).c_str());
      written = i + 1;
      std::this_thread::sleep_for(std::chrono::microseconds(2500));
    }
  });
  std::mt19937 rng(20261122);
  for (int round = 0; round < 20; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 150)(rng)));
    d.Kill9();
    d.Start();
    ASSERT_TRUE(d.WaitReady()) << "round " << round << "\n" << d.Log();
  }
  writer.join();
  ASSERT_TRUE(testing::PipelineDaemon::WaitFor([&] { return testing::ListDir(d.out()).size() >= kObjects; }, 60000))
      << testing::ListDir(d.out()).size() << " of " << kObjects << " ran\n" << d.Log();
  ASSERT_TRUE(testing::PipelineDaemon::WaitFor([&] {
    auto r = d.Ctl({"runs", "--state", "succeeded", "--limit", "100000", "--json"});
    return testing::PipelineDaemon::Count(r.out, "\"state\":\"succeeded\"") == kObjects;
  }, 30000)) << d.Ctl({"runs", "--limit", "20"}).out;
  EXPECT_EQ(d.Stop(), 0);
  auto files = testing::ListDir(d.out());
  EXPECT_EQ(files.size(), static_cast<size_t>(kObjects));
  int twice = 0;
  for (const auto& f : files) {
    std::string runs = testing::ReadFile(d.out() + "/" + f);
    if (testing::PipelineDaemon::Count(runs, "\n") != 1) {
      ++twice;
      ADD_FAILURE() << f << " ran " << testing::PipelineDaemon::Count(runs, "\n") << " times: " << runs;
    }
  }
  EXPECT_EQ(twice, 0);
  auto all = d.Ctl({"runs", "--limit", "100000", "--json"});
  EXPECT_EQ(testing::PipelineDaemon::Count(all.out, "\"id\""), kObjects) << "an invocation was queued twice";
  EXPECT_EQ(testing::PipelineDaemon::Count(d.Log(), "bucketd serving store"), 21);
  // The kills hit work in flight: some starts found unfinished invocations.
  int recovered = testing::PipelineDaemon::Count(d.Log(), "unfinished invocation(s) at start");
  EXPECT_GT(recovered, 0) << d.Log();
  // How many kills found a target running depends on the machine's load
  // (re-attaching is asserted deterministically in ExecTest and under
  // systemd); it is printed, not asserted.
  int reattached = testing::PipelineDaemon::Count(d.Log(), "re-attached to attempt");
  std::printf("starts with unfinished invocations: %d of 20; re-attached runs: %d\n", recovered, reattached);
}

}  // namespace
}  // namespace bucketd
