// The .deb on a Debian 12 system (a copy-on-write view of this one, under a
// real systemd): it installs, creates the user and the store, enables and
// starts the hardened unit, which watches the store and runs an exec target
// (inotify, seccomp, MemoryDenyWriteExecute and the supervisors get along).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/integration/pipeline_daemon.h"
#include "tests/stages/sshd_server.h"
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
  // The shipped /etc/bucketd/bucketd.json serves the endpoint on 127.0.0.1:4566
  // (anonymous requests are refused, as S3 refuses them).
  EXPECT_EQ(sd.Inside({"dpkg-query", "-W", "-f=${Conffiles}", "bucketd"}).out.find("/etc/bucketd/bucketd.json"), 1u);
  EXPECT_EQ(sd.Inside({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:4566/"}).out, "403")
      << sd.Journalctl({"-u", "bucketd"}).out;

  // A rule and an exec function in /etc/bucketd, then a reload.
  // Installed where the hardened unit can see it: its PrivateTmp hides a
  // build tree under /tmp.
  std::string probe = "/usr/local/libexec/bucketd-test/runner_probe";
  ASSERT_EQ(sd.Inside({"install", "-D", "-m", "0755", testing::BinDir() + "/runner_probe", probe}).exit_code, 0);
  ASSERT_EQ(sd.Inside({"install", "-d", "-o", "bucketd", "-g", "bucketd", "/srv/bucketd/probe-out"}).exit_code, 0);
  ASSERT_EQ(sd.Inside({"/bin/sh", "-c", "cat > /etc/bucketd/functions.d/etl.json"},
                      R"({"FunctionName":"Etl","Runtime":"exec","Handler":")" + probe +
                          R"(","Timeout":30,"Environment":{"Variables":{"MODE":"record","CAPS":"1","OUT":"/srv/bucketd/probe-out"}}})")
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

  // The unit grants bucketd CAP_LEASE (to ask whether an uploader still
  // writes a file), and no target inherits it.
  std::string main_pid = sd.Systemctl({"show", "-p", "MainPID", "--value", "bucketd"}).out;
  main_pid.erase(main_pid.find_last_not_of('\n') + 1);
  EXPECT_NE(sd.Inside({"grep", "CapAmb", "/proc/" + main_pid + "/status"}).out.find("0000000010000000"), std::string::npos);
  std::string caps = sd.Inside({"/bin/sh", "-c", "cat /srv/bucketd/probe-out/*.caps"}).out;
  EXPECT_NE(caps.find("CapEff:\t0000000000000000"), std::string::npos) << caps;
  EXPECT_NE(caps.find("CapAmb:\t0000000000000000"), std::string::npos) << caps;

  // Issue 13, item 3(a), as an uploader (another user) writes under the
  // shipped unit: a file open for writing, untouched for over a second when
  // bucketd starts and catches up, is not taken for a whole version. Only
  // the lease tells (the age fallback would record the 5-byte half).
  ASSERT_EQ(as_bucketd({"mb", "s3://uploads"}).exit_code, 0);
  ASSERT_EQ(sd.Inside({"chmod", "0755", "/srv/bucketd", "/srv/bucketd/buckets"}).exit_code, 0);
  ASSERT_EQ(sd.Inside({"chmod", "1777", "/srv/bucketd/buckets/uploads"}).exit_code, 0);
  std::string go = "/run/uploader-go.fifo";  // the namespace's own /run: the uploader may reach it
  ASSERT_EQ(sd.Inside({"mkfifo", "-m", "0666", go}).exit_code, 0);
  auto writer = sd.Inside({"systemd-run", "--unit=uploader", "--uid=nobody", "--gid=nogroup", "/bin/sh", "-c",
                           "exec 3>/srv/bucketd/buckets/uploads/half.csv; printf HALF- >&3; read x < " + go +
                               "; printf rest >&3; exec 3>&-"});
  ASSERT_EQ(writer.exit_code, 0) << writer.err;
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return sd.Inside({"stat", "-c", "%s", "/srv/bucketd/buckets/uploads/half.csv"}).out == "5\n";
  })) << sd.Journalctl({"-u", "uploader"}).out;
  ::usleep(1'500'000);  // older than the "changed in the last second" fallback looks at
  ASSERT_EQ(sd.Systemctl({"restart", "bucketd"}).exit_code, 0);  // active = READY = caught up
  std::string tail = sd.Inside({ctl, "events", "tail", "--bucket", "uploads"}).out;
  EXPECT_EQ(tail.find("s3://uploads/half.csv"), std::string::npos) << "recorded while its writer has it open\n" << tail;
  ASSERT_EQ(sd.Inside({"/bin/sh", "-c", "echo go > " + go}).exit_code, 0);
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return sd.Inside({ctl, "events", "tail", "--bucket", "uploads"}).out.find("s3://uploads/half.csv 9 ") !=
           std::string::npos;
  })) << sd.Inside({ctl, "events", "tail", "--bucket", "uploads"}).out << sd.Journalctl({"-u", "bucketd"}).out;
  tail = sd.Inside({ctl, "events", "tail", "--bucket", "uploads"}).out;
  EXPECT_EQ(tail.find("s3://uploads/half.csv 5 "), std::string::npos) << tail;


  // The seed's fetch and extract under the hardened unit: SFTP to a real sshd
  // on 127.0.0.1 with the key and known_hosts in /etc/bucketd/sftp/ (made by
  // tmpfiles for the bucketd user), as docs/systemd.md tells a user.
  ::mkdir((dir / "sshd").c_str(), 0755);
  testing::SshdServer server(dir / "sshd");
  ASSERT_TRUE(server.Start()) << server.error();
  auto gen = testing::Run({testing::BinDir() + "/bucketgen", "--out", dir / "gen", "--companies", "200", "--months",
                           "1", "--format", "rar"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto put_file = [&](const std::string& path, const std::string& mode, const std::string& text) {
    return sd.Inside({"/bin/sh", "-c", "umask 077; cat > " + path + " && chmod " + mode + " " + path}, text).exit_code;
  };
  EXPECT_EQ(sd.Inside({"stat", "-c", "%U %a", "/etc/bucketd/sftp"}).out, "bucketd 700\n");
  ASSERT_EQ(put_file("/etc/bucketd/sftp/id_ed25519", "600", testing::ReadFile(server.client_key())), 0);
  ASSERT_EQ(put_file("/etc/bucketd/sftp/known_hosts", "600", server.KnownHostsLine()), 0);
  ASSERT_EQ(sd.Inside({"chown", "bucketd:bucketd", "/etc/bucketd/sftp/id_ed25519", "/etc/bucketd/sftp/known_hosts"})
                .exit_code,
            0);
  for (const char* f : {"functions.d/fetch.json", "functions.d/extract.json", "rules.d/extract.json"}) {
    ASSERT_EQ(put_file(std::string("/etc/bucketd/") + f, "644",
                       testing::ReadFile(std::string(BUCKETD_SOURCE_DIR) + "/etc/seed/" + f)), 0);
  }
  std::string input = R"({"host":"127.0.0.1","port":)" + std::to_string(server.port()) + R"(,"user":")" +
                      server.user() + R"(","remote_dir":")" + dir / "gen/out" +
                      R"(","stock":"TRUE","key_file":"/etc/bucketd/sftp/id_ed25519",)"
                      R"("known_hosts":"/etc/bucketd/sftp/known_hosts"})";
  std::string escaped;
  for (char c : input) escaped += c == '"' ? std::string("\\\"") : std::string(1, c);
  ASSERT_EQ(put_file("/etc/bucketd/rules.d/fetch-now.json", "644",
                     R"({"Name":"fetch-now","EventPattern":{"detail-type":["Object Created"],)"
                     R"("detail":{"object":{"key":[{"prefix":"TRIGGER/"}]}}},)"
                     R"("Targets":[{"Id":"f","Arn":"arn:aws:lambda:local:000000000000:function:fetch","Input":")" +
                         escaped + R"("}]})"),
            0);
  ASSERT_EQ(sd.Systemctl({"reload", "bucketd"}).exit_code, 0);
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return sd.Journalctl({"-u", "bucketd"}).out.find("loaded 3 rule(s)") != std::string::npos;
  })) << sd.Journalctl({"-u", "bucketd"}).out;
  ASSERT_EQ(as_bucketd({"mb", "s3://creditsafedata"}).exit_code, 0);
  ASSERT_EQ(as_bucketd({"cp", "/etc/hostname", "s3://creditsafedata/TRIGGER/go"}).exit_code, 0);
  std::string marker = "/srv/bucketd/buckets/creditsafedata/LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json";
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return sd.Inside({"test", "-s", marker}).exit_code == 0; }, 60000))
      << sd.Inside({ctl, "runs"}).out << sd.Journalctl({"-u", "bucketd"}).out;
  EXPECT_NE(sd.Journalctl({"-u", "bucketd", "STAGE=fetch"}).out.find("fetched 11 files"), std::string::npos)
      << sd.Journalctl({"-u", "bucketd"}).out;
  std::string journal = sd.Journalctl({"-u", "bucketd", "-o", "cat"}).out;
  EXPECT_EQ(journal.find("PRIVATE KEY"), std::string::npos) << "the key reached the journal";

  // A python and a node function under the hardened unit (issue 15): its
  // MemoryDenyWriteExecute, inherited by every child, would abort V8's JIT;
  // bucketd's probe sees it and runs node --jitless. Both answer.
  const std::string code = "/usr/local/lib/bucketd-test";
  ASSERT_EQ(sd.Inside({"mkdir", "-p", code + "/py", code + "/js"}).exit_code, 0);
  ASSERT_EQ(put_file(code + "/py/app.py", "644", R"(import os, numpy
def handler(event, context):
    return {"lang": "python", "n": event["n"] * 2, "sum": int(numpy.arange(5).sum()),
            "tmp": os.environ["TMPDIR"], "fn": context.function_name}
)"), 0);
  ASSERT_EQ(put_file(code + "/js/index.js", "644", R"(exports.handler = async (event, context) =>
  ({lang: "node", n: event.n * 2, flags: process.execArgv, fn: context.functionName});
)"), 0);
  ASSERT_EQ(put_file("/etc/bucketd/functions.d/py.json", "644",
                     R"({"FunctionName":"Py","Runtime":"python3.11","Handler":"app.handler","MemorySize":256,)"
                     R"("Code":{"Directory":")" + code + R"(/py"}})"), 0);
  ASSERT_EQ(put_file("/etc/bucketd/functions.d/js.json", "644",
                     R"({"FunctionName":"Js","Runtime":"nodejs20.x","Handler":"index.handler",)"
                     R"("Code":{"Directory":")" + code + R"(/js"}})"), 0);
  auto reload = sd.Inside({ctl, "reload"});
  ASSERT_EQ(reload.exit_code, 0) << reload.err << sd.Journalctl({"-u", "bucketd"}).out;
  auto invoke = [&](const std::string& function) {
    auto r = sd.Inside({ctl, "lambda", "invoke", "--function-name", function, "--payload", R"({"n": 21})",
                        "/run/answer-" + function + ".json"});
    EXPECT_EQ(r.exit_code, 0) << r.err << sd.Journalctl({"-u", "bucketd"}).out;
    EXPECT_NE(r.out.find("\"StatusCode\": 200"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("FunctionError"), std::string::npos) << r.out << sd.Inside({"cat", "/run/answer-" + function + ".json"}).out
                                                               << sd.Journalctl({"-u", "bucketd"}).out;
    return nlohmann::json::parse(sd.Inside({"cat", "/run/answer-" + function + ".json"}).out, nullptr, false);
  };
  auto py = invoke("Py");
  EXPECT_EQ(py["n"], 42) << py.dump();
  EXPECT_EQ(py["sum"], 10) << py.dump();
  EXPECT_EQ(py["fn"], "Py");
  EXPECT_EQ(py.value("tmp", "").rfind("/var/lib/bucketd/lambda/tmp/Py-", 0), 0u) << py.dump();
  auto js = invoke("Js");
  EXPECT_EQ(js["n"], 42) << js.dump();
  EXPECT_EQ(js["flags"], nlohmann::json::array({"--jitless"})) << js.dump();
  EXPECT_NE(sd.Journalctl({"-u", "bucketd"}).out.find("node functions run --jitless"), std::string::npos);
  EXPECT_EQ(sd.Systemctl({"stop", "bucketd"}).exit_code, 0);
}

}  // namespace
}  // namespace bucketd
