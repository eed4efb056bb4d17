// The runner through bucketd and bucketctl: runs, runs show, dlq list and
// redrive, replay, a loop stopped at 16 hops, and a config directory other
// users could write refused.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "tests/integration/pipeline_daemon.h"

namespace bucketd {
namespace {

using testing::PipelineDaemon;

std::string FirstId(const std::string& json_lines) {
  size_t p = json_lines.find("\"id\":\"");
  if (p == std::string::npos) return "";
  return json_lines.substr(p + 6, json_lines.find('"', p + 6) - p - 6);
}

TEST(RunnerCliTest, ADeadInvocationIsListedShownAndRedrivenOnceItsTargetIsFixed) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("etl", "LOGS/", "Etl", R"(,"RetryPolicy":{"MaximumRetryAttempts":0},"DeadLetterConfig":{"Arn":"arn:aws:s3:::dlq/etl/"})");
  d.AddProbeFunction("Etl", "fail", R"(,"FIXED":")" + tmp / "fixed" + "\"");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  ASSERT_EQ(d.Ctl({"mb", "s3://dlq"}).exit_code, 0);
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  testing::WriteFile(tmp / "a.json", "{\"month\": 1}");
  ASSERT_EQ(d.Ctl({"cp", tmp / "a.json", "s3://data/LOGS/a.json"}).exit_code, 0);
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return !d.Ctl({"dlq", "list", "--json"}).out.empty(); })) << d.Log();
  std::string id = FirstId(d.Ctl({"dlq", "list", "--json"}).out);
  auto table = d.Ctl({"runs", "--state", "dead"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("ID"), std::string::npos);
  EXPECT_NE(table.out.find(id), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("LOGS/a.json"), std::string::npos);
  EXPECT_NE(table.out.find("exit status 3"), std::string::npos) << table.out;
  auto show = d.Ctl({"runs", "show", id});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("stdout about to fail"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("stderr something is wrong"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\"key\": \"LOGS/a.json\""), std::string::npos) << show.out;
  EXPECT_TRUE(testing::Exists(d.root() + "/buckets/dlq/etl/" + id + ".1.json"));
  EXPECT_NE(d.Log().find(id + " #1 stderr] something is wrong"), std::string::npos) << d.Log();

  testing::WriteFile(tmp / "fixed", "");
  auto redrive = d.Ctl({"dlq", "redrive", id});
  EXPECT_EQ(redrive.exit_code, 0) << redrive.err;
  EXPECT_EQ(redrive.out, "redriven: 1 invocation(s)\n");
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return d.Ctl({"runs", "--state", "succeeded"}).out.find(id) != std::string::npos; }))
      << d.Log();
  EXPECT_EQ(testing::ReadFile(d.out() + "/" + id), "2\n");
  EXPECT_EQ(d.Ctl({"runs", "show", "nope"}).exit_code, 1);
  EXPECT_EQ(d.Ctl({"runs", "--state", "sleeping"}).exit_code, 1);

  // Replay sends the window's event to the rule again, as a new invocation.
  auto replay = d.Ctl({"replay", "--rule", "etl", "--from", "1h", "--name", "again"});
  EXPECT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_NE(replay.out.find("replay again: "), std::string::npos) << replay.out;
  EXPECT_NE(replay.out.find(", 1 new invocation(s)"), std::string::npos) << replay.out;
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return PipelineDaemon::Count(d.Ctl({"runs", "--state", "succeeded", "--json"}).out, "\"replay\":\"again\"") == 1;
  })) << d.Log();
  auto same = d.Ctl({"replay", "--rule", "etl", "--from", "1h", "--name", "again"});
  EXPECT_NE(same.out.find(", 1 new invocation(s)"), std::string::npos) << "matches are counted, ids decide";
  EXPECT_EQ(PipelineDaemon::Count(d.Ctl({"runs", "--json"}).out, "\"replay\":\"again\""), 1) << "a replay name replays once";
  auto unknown = d.Ctl({"replay", "--rule", "nope", "--from", "1h"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no rule named 'nope'"), std::string::npos) << unknown.err;
  EXPECT_EQ(d.Stop(), 0);
}

TEST(RunnerCliTest, CancelEndsARunningAttemptAndItsRetriesAndRedriveRunsItAgain) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  // A target that would run for a minute, then be retried twice.
  std::string program = tmp / "long.sh";
  testing::WriteFile(program, "#!/bin/sh\necho $$ >> \"$OUT/pids\"\nexec sleep 60\n");
  ::chmod(program.c_str(), 0755);
  d.AddRule("long", "in/", "Long", R"(,"RetryPolicy":{"MaximumRetryAttempts":2})");
  d.AddFunction("Long", program, R"("OUT":")" + tmp.path() + "\"");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  testing::WriteFile(tmp / "a", "x");
  ASSERT_EQ(d.Ctl({"cp", tmp / "a", "s3://data/in/a"}).exit_code, 0);
  std::string id;
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    id = FirstId(d.Ctl({"runs", "--state", "running", "--json"}).out);
    return !id.empty() && testing::Exists(tmp / "pids");
  })) << d.Log();
  int pid = std::stoi(testing::ReadFile(tmp / "pids"));
  auto cancel = d.Ctl({"runs", "cancel", id});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(cancel.out, "cancelled: " + id + " (was running)\n");
  // The attempt's process is stopped, and no retry follows.
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] { return ::kill(pid, 0) != 0; }, 10000)) << "pid " << pid << " still runs";
  auto dead = d.Ctl({"runs", "--state", "dead", "--json"});
  EXPECT_EQ(FirstId(dead.out), id) << dead.out;
  EXPECT_NE(dead.out.find("cancelled (bucketctl runs cancel) while running"), std::string::npos) << dead.out;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the first retry's backoff
  EXPECT_EQ(PipelineDaemon::Count(testing::ReadFile(tmp / "pids"), "\n"), 1) << "a cancelled invocation is not retried";
  EXPECT_NE(d.Log().find(id + " #1] cancelled while running; no more attempts"), std::string::npos) << d.Log();
  auto show = d.Ctl({"runs", "show", id});
  EXPECT_NE(show.out.find("attempt 1: cancelled: cancelled (bucketctl runs cancel)"), std::string::npos) << show.out;
  // Nothing left to cancel; an unknown id.
  auto again = d.Ctl({"runs", "cancel", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("invocation " + id + " is dead: nothing to cancel"), std::string::npos) << again.err;
  auto unknown = d.Ctl({"runs", "cancel", "0123abcd"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no invocation 0123abcd"), std::string::npos) << unknown.err;
  // A cancelled invocation is dead like any other: redrive runs it again.
  EXPECT_EQ(d.Ctl({"dlq", "redrive", id}).exit_code, 0);
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] { return PipelineDaemon::Count(testing::ReadFile(tmp / "pids"), "\n") == 2; }))
      << d.Log();
  EXPECT_EQ(d.Ctl({"runs", "cancel", id}).exit_code, 0);
  EXPECT_EQ(d.Stop(), 0);
}

TEST(RunnerCliTest, BadInputsEachGiveAClearErrorInTheRunRecordAndTheLogAndOtherWorkRuns) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("bad-input", "a/", "Good",
            R"(,"InputTransformer":{"InputPathsMap":{"k":"$.detail.object.key"},"InputTemplate":"{\"k\": <k>, \"m\": <month>}"})");
  d.AddRule("no-function", "b/", "Nowhere");
  d.AddRule("no-program", "c/", "Missing");
  d.AddRule("good", "d/", "Good");
  d.AddProbeFunction("Good", "record");
  d.AddFunction("Missing", "/nonexistent/stage", "");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  EXPECT_NE(d.Log().find("no-function.json: /Targets/0/Arn: rule no-function's target t names function 'Nowhere', "
                         "which functions.d does not define"),
            std::string::npos) << d.Log();
  for (const char* key : {"a/1", "b/1", "c/1", "d/1"}) {
    ASSERT_EQ(d.Ctl({"cp", "/etc/hostname", std::string("s3://data/") + key}).exit_code, 0);
  }
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return PipelineDaemon::Count(d.Ctl({"runs", "--state", "succeeded", "--json"}).out, "\"rule\":\"good\"") == 1;
  })) << d.Log();
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return PipelineDaemon::Count(d.Ctl({"dlq", "list", "--json"}).out, "\"id\"") >= 2; }))
      << d.Log();
  // The missing program is retried (it may be deployed later): its runs say why.
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return d.Ctl({"runs", "--rule", "no-program"}).out.find("cannot execute /nonexistent/stage: No such file or directory") !=
           std::string::npos;
  })) << d.Log();
  auto dead = d.Ctl({"dlq", "list", "--json"}).out;  // the table shortens errors; JSON has them whole
  EXPECT_NE(dead.find("the target's input could not be built: target 't': InputTemplate does not give valid JSON"),
            std::string::npos) << dead;
  EXPECT_NE(dead.find("no function named 'Nowhere'"), std::string::npos) << dead;
  std::string log = d.Log();
  EXPECT_NE(log.find("dead: the target's input could not be built"), std::string::npos) << log;
  EXPECT_NE(log.find("dead: no function named 'Nowhere'"), std::string::npos) << log;
  EXPECT_NE(log.find("failed: cannot execute /nonexistent/stage: No such file or directory; retry 1 of 185"),
            std::string::npos) << log;
  EXPECT_EQ(d.Stop(), 0);
}

TEST(RunnerCliTest, AStageThatRetriggersItselfIsStoppedAtTheSeventeenthHop) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("loop", "loop/", "Loop");
  // Writes a new object into the prefix that fired it, through bucketctl,
  // which tags it with the invocation's chain.
  std::string script = tmp / "loop.sh";
  testing::WriteFile(script, "#!/bin/sh\nexec " + testing::BinDir() + "/bucketctl cp " + script +
                                 " s3://data/loop/$BUCKETD_INVOCATION_ID\n");
  ::chmod(script.c_str(), 0755);
  d.AddFunction("Loop", script, "");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  ASSERT_EQ(d.Ctl({"cp", script, "s3://data/loop/start"}).exit_code, 0);
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return !d.Ctl({"dlq", "list", "--json"}).out.empty(); }, 30000)) << d.Log();
  auto dead = d.Ctl({"dlq", "list"});
  EXPECT_NE(dead.out.find("recursive loop stopped: this would be invocation 17 of chain"), std::string::npos) << dead.out;
  EXPECT_EQ(PipelineDaemon::Count(d.Ctl({"runs", "--state", "succeeded", "--json"}).out, "\"rule\":\"loop\""), 16);
  EXPECT_NE(d.Log().find("recursive loop stopped"), std::string::npos);
  EXPECT_EQ(d.Stop(), 0);
}

TEST(RunnerCliTest, RulesAndFunctionsDirectoriesAreFlagsOfTheirOwn) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("etl", "LOGS/", "Etl");
  d.AddProbeFunction("Etl", "record");
  ASSERT_EQ(::rename((d.cfg() + "/rules.d").c_str(), (tmp / "my-rules").c_str()), 0);
  ASSERT_EQ(::rename((d.cfg() + "/functions.d").c_str(), (tmp / "my-functions").c_str()), 0);
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  d.Start("--rules-dir " + tmp / "my-rules" + " --functions-dir " + tmp / "my-functions");
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  EXPECT_NE(d.Log().find("loaded 1 rule(s) from " + tmp / "my-rules" + ", 1 function(s) from " + tmp / "my-functions"),
            std::string::npos) << d.Log();
  ASSERT_EQ(d.Ctl({"cp", "/etc/hostname", "s3://data/LOGS/x"}).exit_code, 0);
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] {
    return d.Ctl({"runs", "--state", "succeeded"}).out.find("LOGS/x") != std::string::npos;
  })) << d.Log();
  EXPECT_EQ(d.Stop(), 0);
}

TEST(RunnerCliTest, AConfigDirectoryOthersCanWriteIsRefusedWithTheFix) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddProbeFunction("Etl", "record");
  ::chmod((d.cfg() + "/functions.d").c_str(), 0775);
  auto r = testing::Run({testing::BinDir() + "/bucketd", "--root", d.root(), "--config-dir", d.cfg()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(d.cfg() + "/functions.d is writable by its group (mode 0775); bucketd runs the functions its "
                       "configuration names, so only its owner may change it: chmod go-w " + d.cfg() + "/functions.d"),
            std::string::npos) << r.err;
  ::chmod((d.cfg() + "/functions.d").c_str(), 0755);
  ::chmod((d.cfg() + "/functions.d/Etl.json").c_str(), 0666);
  r = testing::Run({testing::BinDir() + "/bucketd", "--root", d.root(), "--config-dir", d.cfg()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("Etl.json is writable by others (mode 0666)"), std::string::npos) << r.err;
}

// Issue 13, item 6: a world-writable Handler (or one in a directory others
// can write) was accepted, and another user's code ran as bucketd's user.
TEST(RunnerCliTest, ProgramsAndDirectoriesOthersCanWriteAreRefusedWithTheFix) {
  testing::TempDir tmp;
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
  PipelineDaemon d(tmp.path());
  ::mkdir((tmp / "bin").c_str(), 0755);
  std::string prog = tmp / "bin/target";
  testing::WriteFile(prog, "#!/bin/sh\nexit 0\n");
  auto start = [&] {
    return testing::Run({testing::BinDir() + "/bucketd", "--root", d.root(), "--config-dir", d.cfg()});
  };
  d.AddFunction("Etl", prog, "");
  ASSERT_EQ(::chmod(prog.c_str(), 0777), 0);
  auto r = start();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("function Etl (" + d.cfg() + "/functions.d/Etl.json): /Handler: " + prog +
                       " is writable by others (mode 0777)"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chmod go-w " + prog), std::string::npos) << r.err;
  ASSERT_EQ(::chmod(prog.c_str(), 0755), 0);
  ASSERT_EQ(::chmod((tmp / "bin").c_str(), 0777), 0);  // others may replace the program
  r = start();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(tmp / "bin is writable by others (mode 0777)"), std::string::npos) << r.err;
  ASSERT_EQ(::chmod((tmp / "bin").c_str(), 01777), 0);  // sticky, as /tmp: the program itself is checked
  ::mkdir((d.cfg() + "/sql").c_str(), 0755);
  testing::WriteFile(d.cfg() + "/sql/features.sql", "select 1;");
  ASSERT_EQ(::chmod((d.cfg() + "/sql/features.sql").c_str(), 0666), 0);
  r = start();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("the SQL the etl stage runs: " + d.cfg() + "/sql/features.sql is writable by others"),
            std::string::npos) << r.err;
  ASSERT_EQ(::chmod((d.cfg() + "/sql/features.sql").c_str(), 0644), 0);
  // All of it safe: bucketd starts.
  d.Start();
  EXPECT_TRUE(d.WaitReady()) << d.Log();
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace bucketd
