// The runner's crash guarantee under a real systemd: bucketd's unit uses
// KillMode=process, so when its main process dies the supervisors and
// targets in its cgroup live on, systemd restarts bucketd (Restart=
// on-failure), and the new bucketd re-attaches: the target runs once.
#include <gtest/gtest.h>

#include "tests/integration/pipeline_daemon.h"
#include "tests/systemd/systemd_ns.h"

namespace bucketd {
namespace {

using testing::PipelineDaemon;

TEST(RunnerSystemdTest, ATargetOutlivesAKilledMainProcessAndRunsOnce) {
  testing::SharedDir dir;
  ASSERT_FALSE(dir.path().empty());
  PipelineDaemon d(dir.path());
  d.AddRule("slow", "in/", "Slow");
  d.AddProbeFunction("Slow", "record", R"(,"DELAY_MS":"3000")");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  auto ns = testing::SystemdNamespace::Boot(dir / "systemd.log");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString() << "\n" << testing::ReadFile(dir / "systemd.log");
  const testing::SystemdNamespace& sd = **ns;
  ASSERT_TRUE(sd.InstallUnit("bucketd-runner-test.service",
                             "[Unit]\nDefaultDependencies=no\n[Service]\nType=notify\n"
                             "ExecStart=" + testing::BinDir() + "/bucketd --root " + d.root() + " --config-dir " +
                                 d.cfg() + " --state-dir " + dir / "state" +
                                 "\nKillMode=process\nRestart=on-failure\nRestartSec=200ms\n")
                  .ok());
  auto start = sd.Systemctl({"start", "bucketd-runner-test.service"});
  ASSERT_EQ(start.exit_code, 0) << start.err << sd.Journalctl({"-u", "bucketd-runner-test"}).out;

  ::mkdir((d.root() + "/buckets/data/in").c_str(), 0755);
  testing::WriteFile(d.root() + "/buckets/data/in/x", "x");
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return testing::ListDir(d.out()).size() == 1; }))
      << sd.Journalctl({"-u", "bucketd-runner-test"}).out;
  std::string id = testing::ListDir(d.out())[0];
  std::string main_pid = sd.Systemctl({"show", "-p", "MainPID", "--value", "bucketd-runner-test"}).out;

  // The target is sleeping; bucketd's main process dies.
  auto kill = sd.Systemctl({"kill", "--kill-whom=main", "--signal=SIGKILL", "bucketd-runner-test"});
  ASSERT_EQ(kill.exit_code, 0) << kill.err;
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    auto pid = sd.Systemctl({"show", "-p", "MainPID", "--value", "bucketd-runner-test"}).out;
    auto active = sd.Systemctl({"is-active", "bucketd-runner-test"}).out;
    return pid != main_pid && pid != "0\n" && active == "active\n";
  }, 20000)) << sd.Journalctl({"-u", "bucketd-runner-test"}).out;
  EXPECT_EQ(sd.Systemctl({"show", "-p", "NRestarts", "--value", "bucketd-runner-test"}).out, "1\n");

  auto succeeded = [&] {
    return d.Ctl({"--state-dir", dir / "state", "runs", "--state", "succeeded"}).out.find(id) != std::string::npos;
  };
  ASSERT_TRUE(PipelineDaemon::WaitFor(succeeded, 20000))
      << d.Ctl({"--state-dir", dir / "state", "runs"}).out << sd.Journalctl({"-u", "bucketd-runner-test"}).out;
  std::string journal = sd.Journalctl({"-u", "bucketd-runner-test"}).out;
  EXPECT_NE(journal.find("re-attached to attempt 1"), std::string::npos) << journal;
  EXPECT_EQ(testing::ReadFile(d.out() + "/" + id), "1\n") << "the target was started again";
  EXPECT_EQ(sd.Systemctl({"stop", "bucketd-runner-test"}).exit_code, 0);
}

}  // namespace
}  // namespace bucketd
