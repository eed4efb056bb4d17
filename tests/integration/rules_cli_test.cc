// The rules' command-line interface (issue 4's fixed interface) and the
// daemon routing records to rules.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/test_util.h"

namespace bucketd {
namespace {

testing::RunResult Ctl(std::vector<std::string> args) {
  args.insert(args.begin(), testing::BinDir() + "/bucketctl");
  return testing::Run(args);
}

TEST(RulesCliTest, TestEventPatternPrintsTrueOrFalseAndExitsTwoOnBadInput) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "p.json", R"J({"source":["aws.s3"],"detail":{"object":{"key":[{"prefix":"LOGS/"}]}}})J");
  auto yes = Ctl({"test-event-pattern", "--event-pattern", "@" + (tmp / "p.json"), "--event",
                  R"J({"source":"aws.s3","detail":{"object":{"key":"LOGS/x"}}})J"});
  EXPECT_EQ(yes.exit_code, 0);
  EXPECT_EQ(yes.out, "true\n");
  auto no = Ctl({"test-event-pattern", "--event-pattern", "@" + (tmp / "p.json"), "--event", R"J({"source":"aws.ec2"})J"});
  EXPECT_EQ(no.exit_code, 0);
  EXPECT_EQ(no.out, "false\n");
  // Unlike AWS's API, a bare object without the envelope fields is a valid event.
  EXPECT_EQ(Ctl({"test-event-pattern", "--event-pattern", R"J({"a":[1]})J", "--event", "{}"}).out, "false\n");
  auto bad = Ctl({"test-event-pattern", "--event-pattern", R"J({"a":[{"prefx":"x"}]})J", "--event", "{}"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(bad.out.empty());
  EXPECT_NE(bad.err.find("/a/0"), std::string::npos) << bad.err;
  EXPECT_EQ(Ctl({"test-event-pattern", "--event-pattern", R"J({"a":[1]})J", "--event", "[1]"}).exit_code, 2);
}

TEST(RulesCliTest, ScheduleNextPrintsRfc3339LinesAfterTheGivenTime) {
  auto r = Ctl({"schedule", "next", "cron(0 8 ? * TUE *)", "-n", "2", "--after", "2026-01-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2026-01-06T08:00:00Z\n2026-01-13T08:00:00Z\n");
  auto past = Ctl({"schedule", "next", "cron(0 0 1 1 ? 2019-2020)", "-n", "3", "--after", "2026-01-01T00:00:00Z"});
  EXPECT_EQ(past.exit_code, 0);
  EXPECT_EQ(past.out, "");  // fewer (no) lines: no firings left
  auto bad = Ctl({"schedule", "next", "cron(0 8 * * * *)", "-n", "1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("Day-of-week"), std::string::npos);
}

TEST(RulesCliTest, RulesValidateNamesTheBadFile) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "ok.json", R"J({"Name":"a","ScheduleExpression":"rate(1 day)"})J");
  EXPECT_EQ(Ctl({"rules", "validate", tmp.path()}).out, "1 rule(s) valid in " + tmp.path() + "\n");
  testing::WriteFile(tmp / "bad.json", R"J({"Name":"b","EventPattern":{"k":"v"}})J");
  auto r = Ctl({"rules", "validate", tmp.path()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(tmp / "bad.json" + ": /EventPattern/k: expected an array"), std::string::npos) << r.err;
}

// Whether `text` shows up in the file at `log` within 5 s.
bool WaitForLine(const std::string& log, const std::string& text) {
  for (int i = 0; i < 500; ++i) {
    if (testing::ReadFile(log).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Makes s3://data and starts bucketd on `root` and `cfg`, logging to `log`.
// Returns its pid once it serves, or -1.
int StartServing(const std::string& root, const std::string& cfg, const std::string& log) {
  if (Ctl({"--root", root, "mb", "s3://data"}).exit_code != 0) return -1;
  int pid = testing::Spawn({"/bin/sh", "-c", "exec " + testing::BinDir() + "/bucketd --root " + root +
                                               " --config-dir " + cfg + " 2>" + log});
  return WaitForLine(log, "bucketd serving store") ? pid : -1;
}

TEST(RulesDaemonTest, MatchedRecordsAreRoutedAndABrokenReloadKeepsTheRules) {
  testing::TempDir tmp;
  std::string root = tmp / "root", cfg = tmp / "cfg";
  ::mkdir(cfg.c_str(), 0755);
  ::mkdir((cfg + "/rules.d").c_str(), 0755);
  ::mkdir((cfg + "/functions.d").c_str(), 0755);
  testing::WriteFile(cfg + "/functions.d/etl.json", R"J({"FunctionName":"Etl","Runtime":"builtin","Handler":"noop"})J");
  testing::WriteFile(cfg + "/rules.d/r.json", R"J({"Name":"on-logs","EventPattern":{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"object":{"key":[{"prefix":"LOGS/"}]}}},"Targets":[{"Id":"t","Arn":"arn:aws:lambda:r:1:function:Etl"}]})J");
  std::string log = tmp / "bucketd.log";
  int pid = StartServing(root, cfg, log);
  ASSERT_GT(pid, 0) << testing::ReadFile(log);
  auto wait_for = [&](const std::string& text) { return WaitForLine(log, text); };
  ::mkdir((root + "/buckets/data/LOGS").c_str(), 0755);
  testing::WriteFile(root + "/buckets/data/LOGS/a.json", "{}");
  EXPECT_TRUE(wait_for("queued by rule on-logs for s3://data/LOGS/a.json -> function Etl"));
  EXPECT_TRUE(wait_for("#1] succeeded in"));
  testing::WriteFile(cfg + "/rules.d/zz-broken.json", "[{\"Name\":");
  ::kill(pid, SIGHUP);
  EXPECT_TRUE(wait_for("reload failed, keeping the 1 rules in force: " + cfg + "/rules.d/zz-broken.json"));
  testing::WriteFile(root + "/buckets/data/LOGS/b.json", "{}");
  EXPECT_TRUE(wait_for("queued by rule on-logs for s3://data/LOGS/b.json -> function Etl"));
  ::kill(pid, SIGTERM);
  EXPECT_EQ(testing::Wait(pid), 0);
}

// Issue 13, item 7: these two files aborted `rules validate` (type_error,
// rc 134) and a pattern nested 100,000 deep segfaulted it; on SIGHUP they
// killed bucketd.
TEST(RulesDaemonTest, FilesThatCrashedTheLoaderAreErrorsForValidateAndAReloadKeepsTheRules) {
  testing::TempDir tmp;
  std::string root = tmp / "root", cfg = tmp / "cfg";
  ::mkdir(cfg.c_str(), 0755);
  ::mkdir((cfg + "/rules.d").c_str(), 0755);
  testing::WriteFile(cfg + "/rules.d/r.json", R"J({"Name":"on-logs","EventPattern":{"source":["aws.s3"]}})J");
  std::string deep = R"({"Name":"deep","EventPattern":{"source":["aws.s3"],"detail":)";
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
  deep += "[1]" + std::string(100000, '}') + "}}";
  const std::vector<std::pair<std::string, std::string>> files = {
      {R"({"Bucket":"data","LambdaFunctionConfigurations":[{"Id":"x","LambdaFunctionArn":"arn:aws:lambda:local:000000000000:function:F","Events":["s3:ObjectCreated:*"],"Filter":{"Key":{"FilterRules":[{"Name":5,"Value":5}]}}}]})",
       "/LambdaFunctionConfigurations/0/Filter/Key/FilterRules/0/Name: expected a string"},
      {deep, "nested deeper than 100 levels"}};
  testing::TempDir check;
  for (const auto& [text, error] : files) {
    testing::WriteFile(check / "bad.json", text);
    auto r = Ctl({"rules", "validate", check.path()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(check / "bad.json" + ": "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(error), std::string::npos) << r.err;
  }
  std::string log = tmp / "bucketd.log";
  int pid = StartServing(root, cfg, log);
  ASSERT_GT(pid, 0) << testing::ReadFile(log);
  auto wait_for = [&](const std::string& text) { return WaitForLine(log, text); };
  for (const auto& [text, error] : files) {
    testing::WriteFile(cfg + "/rules.d/zz-bad.json", text);
    ::kill(pid, SIGHUP);
    EXPECT_TRUE(wait_for("reload failed, keeping the 1 rules in force: " + cfg + "/rules.d/zz-bad.json: "))
        << testing::ReadFile(log);
    EXPECT_TRUE(wait_for(error)) << testing::ReadFile(log);
    EXPECT_EQ(::kill(pid, 0), 0) << "bucketd died on the reload";
  }
  ::kill(pid, SIGTERM);
  EXPECT_EQ(testing::Wait(pid), 0);
}

}  // namespace
}  // namespace bucketd
