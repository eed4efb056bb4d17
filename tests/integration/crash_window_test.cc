// bucketd stopped by kill -9 at the exact windows where a crash used to lose
// or burn work (issue 12): a test hook makes bucketd kill itself there.
#include <gtest/gtest.h>

#include "tests/integration/pipeline_daemon.h"

namespace bucketd {
namespace {

using testing::PipelineDaemon;

// Issue 12, item 1: the scheduler saved "fired" before the firing's
// invocations were committed; a crash in between lost the firing for good.
TEST(CrashWindowTest, AScheduleFiringCutOffBeforeItsCommitRunsAtTheNextStart) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  testing::WriteFile(d.cfg() + "/rules.d/tick.json",
                     R"J({"Name":"tick","ScheduleExpression":"rate(1 hour)","Targets":[{"Id":"t",)J"
                     R"J("Arn":"arn:aws:lambda:local:000000000000:function:Tick"}]})J");
  d.AddProbeFunction("Tick", "record");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  // An earlier bucketd anchored the schedule two hours ago: a firing is due
  // at once when bucketd starts.
  ::mkdir((d.root() + "/.bucketd").c_str(), 0700);
  int64_t now = static_cast<int64_t>(::time(nullptr)) * 1'000'000'000;
  testing::WriteFile(d.root() + "/.bucketd/schedules.json",
                     R"({"version":1,"rules":{"tick":{"anchor_ns":)" + std::to_string(now - 7200'000'000'000) +
                         R"(,"last_ns":0}}})");
  d.Start("", "BUCKETD_TEST_HOOKS=1 BUCKETD_TEST_KILL_BEFORE_COMMIT=schedule");
  EXPECT_EQ(d.WaitExit(), -SIGKILL) << d.Log();
  ASSERT_NE(d.Log().find("test hook: bucketd kills itself before committing a schedule firing"), std::string::npos)
      << d.Log();
  EXPECT_TRUE(testing::ListDir(d.out()).empty()) << "nothing ran before the crash";

  // The killed start never got ready: count the ready lines by hand.
  auto ready = [&](int n) {
    return PipelineDaemon::WaitFor([&] { return PipelineDaemon::Count(d.Log(), "bucketd serving store") >= n; });
  };
  d.Start();
  ASSERT_TRUE(ready(1)) << d.Log();
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return testing::ListDir(d.out()).size() == 1; })) << d.Log();
  auto files = testing::ListDir(d.out());
  EXPECT_EQ(testing::ReadFile(d.out() + "/" + files[0]), "1\n") << "the firing ran once, as its first attempt";
  EXPECT_EQ(d.Stop(), 0);
  // And it is not due again at the next start.
  d.Start();
  ASSERT_TRUE(ready(2)) << d.Log();
  EXPECT_EQ(d.Stop(), 0);
  EXPECT_EQ(testing::ListDir(d.out()).size(), 1u);
  EXPECT_EQ(testing::ReadFile(d.out() + "/" + files[0]), "1\n");
}

// Issue 12, item 3: killed after it made the run directory and before a
// supervisor had the attempt, bucketd read that attempt as "supervisor died":
// with MaximumRetryAttempts 0 the invocation went dead without ever running.
TEST(CrashWindowTest, AnAttemptCutOffBeforeTheHandOverCostsNoAttemptAndRunsOnce) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("record", "in/", "Record", R"(,"RetryPolicy":{"MaximumRetryAttempts":0})");
  d.AddProbeFunction("Record", "record");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  ::mkdir((d.root() + "/buckets/data/in").c_str(), 0755);
  d.Start("", "BUCKETD_TEST_HOOKS=1 BUCKETD_TEST_KILL_AFTER_RUN_DIR=1");
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  testing::WriteFile(d.root() + "/buckets/data/in/a.csv", "a\n");
  EXPECT_EQ(d.WaitExit(), -SIGKILL) << d.Log();
  d.Start();
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return PipelineDaemon::Count(d.Log(), "bucketd serving store") >= 2; }))
      << d.Log();
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return testing::ListDir(d.out()).size() == 1; })) << d.Log();
  auto files = testing::ListDir(d.out());
  std::string id = files[0];
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return d.Ctl({"runs", "show", id}).out.find("\"state\": \"succeeded\"") != std::string::npos; }))
      << d.Ctl({"runs", "show", id}).out << d.Log();
  EXPECT_EQ(testing::ReadFile(d.out() + "/" + id), "2\n") << "ran once, as attempt 2";
  std::string show = d.Ctl({"runs", "show", id}).out;
  EXPECT_NE(show.find("attempt 1: not started"), std::string::npos) << show;
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace bucketd
