// The .deb on a Debian 12 system (a copy-on-write view of this one, under a
// real systemd): it installs, creates the user and the store, enables and
// starts the hardened unit, which watches the store and runs an exec target
// (inotify, seccomp, MemoryDenyWriteExecute and the supervisors get along).
#include <gtest/gtest.h>

#include "tests/integration/pipeline_daemon.h"
#include "tests/systemd/systemd_ns.h"

namespace bucketd {
namespace {

using testing::PipelineDaemon;

TEST(PackageSystemdTest, TheDebInstallsCreatesTheUserAndItsHardenedServiceRunsTargets) {
  testing::SharedDir dir;
  ASSERT_FALSE(dir.path().empty());
  auto cpack = testing::Run({"/usr/bin/cpack", "-G", "DEB", "-B", dir / "deb", "--config",
                             testing::BinDir() + "/../CPackConfig.cmake"});
  ASSERT_EQ(cpack.exit_code, 0) << cpack.out << cpack.err;
  std::string deb = dir / "deb/bucketd_0.1.0_amd64.deb";
  ASSERT_TRUE(testing::Exists(deb)) << cpack.out;
  auto ns = testing::SystemdNamespace::Boot(dir / "systemd.log", dir / "overlay");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  const testing::SystemdNamespace& sd = **ns;

  auto install = sd.Inside({"dpkg", "-i", deb});
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  EXPECT_EQ(sd.Inside({"id", "-un", "bucketd"}).out, "bucketd\n");
  EXPECT_EQ(sd.Inside({"stat", "-c", "%U %a", "/srv/bucketd"}).out, "bucketd 750\n");
  EXPECT_EQ(sd.Systemctl({"is-enabled", "bucketd"}).out, "enabled\n");
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return sd.Systemctl({"is-active", "bucketd"}).out == "active\n"; }))
      << sd.Journalctl({"-u", "bucketd"}).out;

  // A rule and an exec function in /etc/bucketd, then a reload.
  std::string probe = testing::BinDir() + "/runner_probe";
  ASSERT_EQ(sd.Inside({"install", "-d", "-o", "bucketd", "-g", "bucketd", "/srv/bucketd/probe-out"}).exit_code, 0);
  ASSERT_EQ(sd.Inside({"/bin/sh", "-c", "cat > /etc/bucketd/functions.d/etl.json"},
                      R"({"FunctionName":"Etl","Runtime":"exec","Handler":")" + probe +
                          R"(","Timeout":30,"Environment":{"Variables":{"MODE":"record","OUT":"/srv/bucketd/probe-out"}}})")
                .exit_code,
            0);
  ASSERT_EQ(sd.Inside({"/bin/sh", "-c", "cat > /etc/bucketd/rules.d/etl.json"},
                      R"({"Name":"etl","EventPattern":{"source":["aws.s3"],"detail-type":["Object Created"],)"
                      R"("detail":{"object":{"key":[{"prefix":"LOGS/"}]}}},)"
                      R"("Targets":[{"Id":"t","Arn":"arn:aws:lambda:local:000000000000:function:Etl"}]})")
                .exit_code,
            0);
  ASSERT_EQ(sd.Systemctl({"reload", "bucketd"}).exit_code, 0);
  std::string ctl = "/usr/bin/bucketctl";
  auto as_bucketd = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"setpriv", "--reuid=bucketd", "--regid=bucketd", "--init-groups", ctl});
    return sd.Inside(args);
  };
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return sd.Journalctl({"-u", "bucketd"}).out.find("loaded 1 rule(s)") != std::string::npos;
  })) << sd.Journalctl({"-u", "bucketd"}).out;
  auto mb = as_bucketd({"mb", "s3://data"});
  ASSERT_EQ(mb.exit_code, 0) << mb.err;
  auto cp = as_bucketd({"cp", "/etc/hostname", "s3://data/LOGS/first.json"});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return sd.Inside({ctl, "runs", "--state", "succeeded", "--json"}).out.find("\"key\":\"LOGS/first.json\"") !=
           std::string::npos;
  }, 20000)) << sd.Inside({ctl, "runs"}).out << sd.Journalctl({"-u", "bucketd"}).out;
  EXPECT_NE(sd.Journalctl({"-u", "bucketd", "STAGE=Etl"}).out.find("succeeded in"), std::string::npos);
  auto status = sd.Inside({ctl, "status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out.rfind("watching ", 0), 0u) << status.out;
  EXPECT_NE(sd.Systemctl({"show", "-p", "StatusText", "--value", "bucketd"}).out.find("1 succeeded"), std::string::npos);
  EXPECT_EQ(sd.Systemctl({"stop", "bucketd"}).exit_code, 0);
}

}  // namespace
}  // namespace bucketd
