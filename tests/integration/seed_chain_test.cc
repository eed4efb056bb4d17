// The whole seed chain through a real bucketd: README's first command's
// script (scripts/demo.sh) on small generated data, then the same markers
// fired again, and a broken query.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/integration/pipeline_daemon.h"

namespace bucketd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::PipelineDaemon;

std::string Field(const std::string& out, const std::string& name) {
  size_t at = out.find("\n" + name + ": ");
  if (at == std::string::npos) return "";
  at += name.size() + 3;
  return out.substr(at, out.find('\n', at) - at);
}

json ParseFile(const std::string& path) { return json::parse(testing::ReadFile(path), nullptr, false); }

TEST(SeedChainTest, TheDemoRunsTheChainEndToEndAndAgainChangesNothing) {
  testing::TempDir tmp;
  auto demo = testing::Run({std::string(BUCKETD_SOURCE_DIR) + "/scripts/demo.sh"}, "",
                           {"DEMO_DIR=" + tmp / "demo", "COMPANIES=3000", "MONTHS=3", "BIN=" + testing::BinDir(),
                            "TIMEOUT=600"});
  ASSERT_EQ(demo.exit_code, 0) << demo.out << demo.err << testing::ReadFile(tmp / "demo/bucketd.log");
  EXPECT_NE(demo.out.find("source: SFTP from sshd on 127.0.0.1:"), std::string::npos) << demo.out;

  // README's fixed lines, and the fixed evaluation shape.
  std::string eval_path = Field(demo.out, "evaluation");
  ASSERT_FALSE(eval_path.empty()) << demo.out;
  EXPECT_EQ(eval_path[0], '/');
  json eval = ParseFile(eval_path);
  ASSERT_FALSE(eval.is_discarded());
  EXPECT_EQ(eval["date"], "20240301");
  EXPECT_GT(eval["rows"]["train"].get<int>(), 0);
  EXPECT_GT(eval["rows"]["holdout"].get<int>(), 0);
  double oracle = std::stod(Field(demo.out, "oracle_auc"));
  double best = 0;
  for (const char* m : {"precision", "recall"}) {
    best = std::max(best, eval["models"][m]["auc"].get<double>());
    EXPECT_TRUE(eval["models"][m]["pr_auc"].is_number());
    for (const char* th : {"threshold_0.5", "threshold_0.75"}) {
      for (const char* k : {"precision", "recall", "f1", "tp", "fp", "tn", "fn"}) {
        EXPECT_TRUE(eval["models"][m][th][k].is_number()) << m << " " << th << " " << k;
      }
    }
  }
  EXPECT_GE(best, 0.9 * oracle) << "best model AUC " << best << ", true probabilities " << oracle;
  EXPECT_LE(best, oracle + 0.05) << "a model far above the true probabilities means leakage";

  // Every output exists and parses.
  std::string b = tmp / "demo/root/buckets/creditsafedata/";
  for (const char* j : {"LOGS_QUERY_EXECUTION/logs_tables_20240301.json", "NOTEBOOKS_WORKFLOW/OUTPUT/insights_20240301.json",
                        "ALGORITHM/20240301/XGBOOST/MODELS/model_precision_1.json",
                        "ALGORITHM/20240301/XGBOOST/MODELS/model_recall_1.json",
                        "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240301.json"}) {
    EXPECT_FALSE(ParseFile(b + j).is_discarded()) << j;
  }
  EXPECT_NE(testing::ReadFile(b + "NOTEBOOKS_WORKFLOW/OUTPUT/insights_20240301.html").find("<svg"), std::string::npos);
  EXPECT_NE(testing::ReadFile(b + "ALGORITHM/20240301/XGBOOST/evaluation_20240301.html").find("ROC curve"),
            std::string::npos);
  const std::string pred = b + "ALGORITHM/20240301/DATA/PREDICT/LIST_POSITIVE_CLASS/";
  EXPECT_EQ(testing::ReadFile(pred + "full_prediction.csv").rfind("REGNUMBER,ACCOUNTSDATE,LABEL,", 0), 0u);
  EXPECT_NE(testing::ReadFile(pred + "full_prediction.csv").find(",PROBA_PRECISION,PROBA_RECALL\n"), std::string::npos);
  EXPECT_EQ(testing::ReadFile(pred + "reg_prediction_proba_75.csv").rfind("REGNUMBER,PROBA_RECALL\n", 0), 0u);
  EXPECT_TRUE(testing::Exists(pred + "full_prediction_proba_75.csv"));
  EXPECT_TRUE(testing::Exists(b + "DATA/TABLES/training_20240301.csv"));
  EXPECT_TRUE(testing::Exists(b + "DATA/UNZIP_DATA/UKLTD_M_20240301/AC01/AC01_M_20240301.txt"));
  EXPECT_FALSE(fs::exists(b + "NOTIFICATIONS/failure")) << "a stage failed";

  // The same markers fired again (bucketd restarted on the demo's store).
  // (The markers themselves are rewritten, with the same bytes, to fire.)
  std::vector<std::string> outputs = {b + "ALGORITHM/20240301/XGBOOST/MODELS/model_recall_1.json",
                                      b + "NOTEBOOKS_WORKFLOW/OUTPUT/insights_20240301.html",
                                      pred + "full_prediction.csv", b + "DATA/TABLES/training_20240301.csv",
                                      b + "DATA/LIST_USERS_PREDICTED/list_users_predicted_20240301.csv"};
  std::vector<fs::file_time_type> before;
  for (const auto& o : outputs) before.push_back(fs::last_write_time(o));
  std::string root = tmp / "demo/root", state = tmp / "demo/state", cfg = tmp / "demo/config";
  int pid = testing::Spawn({"/bin/sh", "-c", "exec " + testing::BinDir() + "/bucketd --root " + root + " --config-dir " +
                                                 cfg + " --state-dir " + state + " 2>>" + tmp / "again.log"});
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return testing::ReadFile(tmp / "again.log").find("bucketd serving store") != std::string::npos;
  })) << testing::ReadFile(tmp / "again.log");
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {testing::BinDir() + "/bucketctl", "--root", root, "--state-dir", state});
    return testing::Run(args);
  };
  for (const char* marker : {"LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240301.json", "LOGS_QUERY_EXECUTION/logs_tables_20240301.json",
                             "ALGORITHM/EVALUATION/evaluation_20240301.json"}) {
    fs::copy_file(b + marker, tmp / "marker.json", fs::copy_options::overwrite_existing);
    ASSERT_EQ(ctl({"cp", tmp / "marker.json", std::string("s3://creditsafedata/") + marker}).exit_code, 0);
  }
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    return PipelineDaemon::Count(testing::ReadFile(tmp / "again.log"), "nothing to do") >= 4;
  }, 30000)) << testing::ReadFile(tmp / "again.log");
  for (size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_EQ(fs::last_write_time(outputs[i]), before[i]) << outputs[i] << " was written again";
  }
  EXPECT_EQ(testing::ReadFile(tmp / "again.log").find("] dead: "), std::string::npos);
  ::kill(pid, SIGTERM);
  EXPECT_EQ(testing::Wait(pid), 0);
}

TEST(SeedChainTest, ABrokenQueryStopsTheChainWithAClearErrorAndAFailureNotification) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  for (const char* sub : {"functions.d", "rules.d"}) {
    for (const auto& f : fs::directory_iterator(std::string(BUCKETD_SOURCE_DIR) + "/etc/seed/" + sub)) {
      fs::copy_file(f.path(), d.cfg() + "/" + sub + "/" + f.path().filename().string());
    }
  }
  fs::copy(std::string(BUCKETD_SOURCE_DIR) + "/etc/seed/sql", d.cfg() + "/sql", fs::copy_options::recursive);
  std::ofstream(d.cfg() + "/sql/04_training.sql", std::ios::app) << "\nSELECT COUNT(*) FROM no_such_table;\n";
  int broken_line = 0;
  {
    std::ifstream in(d.cfg() + "/sql/04_training.sql");
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find("no_such_table") != std::string::npos) broken_line = n;
    }
  }
  auto gen = testing::Run({testing::BinDir() + "/bucketgen", "--out", tmp / "gen", "--companies", "800", "--months",
                           "1", "--format", "zip"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  ASSERT_EQ(d.Ctl({"mb", "s3://creditsafedata"}).exit_code, 0);
  ASSERT_EQ(d.Ctl({"cp", "--recursive", tmp / "gen/out/", "s3://creditsafedata/DATA/RAW_DATA/"}).exit_code, 0);
  std::string failures = d.root() + "/buckets/creditsafedata/NOTIFICATIONS/failure/RunNotebook";
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return !testing::ListDir(failures).empty(); }, 60000)) << d.Log();
  std::string record = testing::ReadFile(failures + "/" + testing::ListDir(failures).front());
  std::string expected = "04_training.sql:" + std::to_string(broken_line) + ": no such table: no_such_table";
  EXPECT_NE(record.find(expected), std::string::npos) << record;
  auto dead = d.Ctl({"dlq", "list"});
  EXPECT_NE(dead.out.find("04_training.sql:" + std::to_string(broken_line)), std::string::npos) << dead.out;
  EXPECT_FALSE(testing::Exists(d.root() + "/buckets/creditsafedata/LOGS_QUERY_EXECUTION/logs_tables_20240101.json"));
  EXPECT_FALSE(testing::Exists(d.root() + "/buckets/creditsafedata/ALGORITHM"));
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace bucketd
