// bucketd as a systemd service (issue 6), under a real systemd booted in a
// PID namespace: readiness and status, journal fields, reload with a broken
// rule file, SIGKILL of the main process, the watchdog.
#include <gtest/gtest.h>

#include "tests/integration/pipeline_daemon.h"
#include "tests/systemd/systemd_ns.h"

namespace bucketd {
namespace {

using testing::PipelineDaemon;

class DaemonSystemdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    d_ = std::make_unique<PipelineDaemon>(dir_.path());
    d_->AddRule("etl", "LOGS/", "Etl");
    d_->AddProbeFunction("Etl", "record");
    ASSERT_EQ(d_->Ctl({"mb", "s3://data"}).exit_code, 0);
    auto ns = testing::SystemdNamespace::Boot(dir_ / "systemd.log");
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    sd_ = std::move(ns).value();
  }
  void TearDown() override { sd_.reset(); }  // powers the namespace off, also after a failure

  Status Install(const std::string& extra = "") {
    return sd_->InstallUnit(kUnit, "[Unit]\nDefaultDependencies=no\n[Service]\nType=notify\n"
                                   "ExecStart=" + testing::BinDir() + "/bucketd --root " + d_->root() +
                                       " --config-dir " + d_->cfg() + " --state-dir " + dir_ / "state" +
                                       "\nExecReload=/bin/kill -HUP $MAINPID\nKillMode=process\n"
                                       "Restart=on-failure\nRestartSec=200ms\n" + extra);
  }
  std::string Show(const std::string& property) const {
    auto r = sd_->Systemctl({"show", "-p", property, "--value", kUnit});
    return r.out.empty() ? r.out : r.out.substr(0, r.out.size() - 1);
  }
  std::string Journal(std::vector<std::string> args = {}) const {
    args.insert(args.begin(), {"-u", kUnit});
    return sd_->Journalctl(args).out;
  }
  // Drops a marker file under LOGS/ and waits for its target to have run.
  bool Drop(const std::string& name) {
    testing::WriteFile(dir_ / name, name);
    if (d_->Ctl({"cp", dir_ / name, "s3://data/LOGS/" + name}).exit_code != 0) return false;
    return PipelineDaemon::WaitFor([&] {
      return d_->Ctl({"--state-dir", dir_ / "state", "runs", "--state", "succeeded", "--json"}).out.find(
                 "\"key\":\"LOGS/" + name + "\"") != std::string::npos;
    });
  }

  static constexpr const char* kUnit = "bucketd-daemon-test.service";
  testing::SharedDir dir_;
  std::unique_ptr<PipelineDaemon> d_;
  std::unique_ptr<testing::SystemdNamespace> sd_;
};

TEST_F(DaemonSystemdTest, ActiveOnlyAfterReadyWithAStatusLineAndTargetsInTheJournalWithTheirFields) {
  // Written while bucketd is down: startup catch-up must record it before READY=1.
  ::mkdir((d_->root() + "/buckets/data/LOGS").c_str(), 0755);
  testing::WriteFile(d_->root() + "/buckets/data/LOGS/early.json", "{}");
  ASSERT_TRUE(Install().ok());
  auto start = sd_->Systemctl({"start", kUnit});
  ASSERT_EQ(start.exit_code, 0) << start.err << Journal();
  auto lookup = d_->Ctl({"--state-dir", dir_ / "state", "events", "lookup", "--key", "LOGS/early.json"});
  EXPECT_NE(lookup.out.find("PutObject"), std::string::npos) << "active before catch-up was done\n" << lookup.out;
  EXPECT_EQ(Show("ActiveState"), "active");
  EXPECT_EQ(Show("SubState"), "running");
  std::string status = sd_->Systemctl({"status", "--no-pager", kUnit}).out;
  EXPECT_NE(status.find("Status: \"watching "), std::string::npos) << status;

  ASSERT_TRUE(Drop("a.json")) << Journal();
  auto runs = d_->Ctl({"--state-dir", dir_ / "state", "runs", "--json"}).out;
  size_t at = runs.find("\"key\":\"LOGS/a.json\"");
  ASSERT_NE(at, std::string::npos);
  size_t id_at = runs.rfind("\"id\":\"", at);
  std::string id = runs.substr(id_at + 6, 24);
  std::string fields = Journal({"RULE=etl", "INVOCATION_ID=" + id, "-o", "json"});
  EXPECT_NE(fields.find("\"KEY\":\"LOGS/a.json\""), std::string::npos) << fields;
  EXPECT_NE(fields.find("\"STAGE\":\"Etl\""), std::string::npos) << fields;
  EXPECT_NE(fields.find("\"SYSLOG_IDENTIFIER\":\"bucketd\""), std::string::npos) << fields;
  EXPECT_NE(fields.find("succeeded in"), std::string::npos) << fields;
  EXPECT_NE(Journal({"STAGE=Etl"}).find("queued by rule etl for s3://data/LOGS/a.json"), std::string::npos);
}

TEST_F(DaemonSystemdTest, AReloadWithABrokenRuleFileKeepsTheRulesAndSaysWhatIsWrong) {
  ASSERT_TRUE(Install().ok());
  ASSERT_EQ(sd_->Systemctl({"start", kUnit}).exit_code, 0) << Journal();
  testing::WriteFile(d_->cfg() + "/rules.d/zz-broken.json", "{\"Name\": \"half\", ");
  auto reload = sd_->Systemctl({"reload", kUnit});
  EXPECT_EQ(reload.exit_code, 0) << reload.err;
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] {
    return Journal().find("reload failed, keeping the 1 rules in force: " + d_->cfg() + "/rules.d/zz-broken.json") !=
           std::string::npos;
  })) << Journal();
  EXPECT_EQ(Show("ActiveState"), "active");
  EXPECT_TRUE(Drop("after-reload.json")) << Journal();
}

TEST_F(DaemonSystemdTest, SigkillOfTheMainProcessRestartsItAndLosesNoInvocation) {
  ASSERT_TRUE(Install().ok());
  ASSERT_EQ(sd_->Systemctl({"start", kUnit}).exit_code, 0) << Journal();
  std::string pid = Show("MainPID");
  ASSERT_EQ(sd_->Systemctl({"kill", "--kill-whom=main", "--signal=SIGKILL", kUnit}).exit_code, 0);
  // Dropped while bucketd is dead or restarting.
  testing::WriteFile(dir_ / "down.json", "{}");
  ASSERT_EQ(d_->Ctl({"cp", dir_ / "down.json", "s3://data/LOGS/down.json"}).exit_code, 0);
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return Show("MainPID") != pid && Show("ActiveState") == "active"; }, 20000))
      << Journal();
  EXPECT_EQ(Show("NRestarts"), "1");
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] {
    return d_->Ctl({"--state-dir", dir_ / "state", "runs", "--state", "succeeded", "--json"}).out.find(
               "\"key\":\"LOGS/down.json\"") != std::string::npos;
  })) << Journal();
}

TEST_F(DaemonSystemdTest, AHungMainLoopIsRestartedByTheWatchdog) {
  ASSERT_TRUE(Install("WatchdogSec=2\nEnvironment=BUCKETD_TEST_HOOKS=1\n").ok());
  ASSERT_EQ(sd_->Systemctl({"start", kUnit}).exit_code, 0) << Journal();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Show("NRestarts"), "0") << "a healthy loop was restarted:\n" << Journal();
  std::string pid = Show("MainPID");
  ASSERT_EQ(sd_->Systemctl({"kill", "--kill-whom=main", "--signal=SIGUSR1", kUnit}).exit_code, 0);
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return Show("NRestarts") == "1" && Show("ActiveState") == "active"; },
                                      20000))
      << Journal();
  EXPECT_NE(Show("MainPID"), pid);
  EXPECT_NE(Journal().find("Watchdog timeout"), std::string::npos) << Journal();
  EXPECT_TRUE(Drop("after-watchdog.json")) << Journal();
}

TEST_F(DaemonSystemdTest, TheControlSocketInTheRuntimeDirectoryAnswersRootAndRefusesOthers) {
  ASSERT_TRUE(Install("RuntimeDirectory=bucketd-test\n").ok());
  ASSERT_EQ(sd_->Systemctl({"start", kUnit}).exit_code, 0) << Journal();
  std::string sock = "/run/bucketd-test/control.sock";  // the namespace's own /run
  std::string ctl = testing::BinDir() + "/bucketctl";
  auto root = sd_->Inside({ctl, "--socket", sock, "status"});
  EXPECT_EQ(root.exit_code, 0) << root.err;
  EXPECT_EQ(root.out.rfind("watching ", 0), 0u) << root.out;
  EXPECT_EQ(sd_->Inside({"chmod", "0755", "/run/bucketd-test"}).exit_code, 0);
  EXPECT_EQ(sd_->Inside({"chmod", "0666", sock}).exit_code, 0);
  auto nobody = sd_->Inside({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ctl, "--socket", sock,
                             "status"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.err.find("permission denied: uid 65534 is neither root nor in the group bucketd"),
            std::string::npos) << nobody.err;
  EXPECT_EQ(Show("ActiveState"), "active");
}

}  // namespace
}  // namespace bucketd
