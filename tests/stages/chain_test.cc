// The seed workflow's stages one after the other on generated data, called
// directly (the daemon's version is tests/integration/seed_chain_test.cc):
// extract -> etl -> insights, train -> predict.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "stages/etl.h"
#include "stages/extract.h"
#include "stages/insights.h"
#include "stages/metrics.h"
#include "stages/predict.h"
#include "stages/feature_table.h"
#include "stages/train.h"
#include "tests/stages/stage_fixture.h"

namespace bucketd::stages {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ChainTest : public StageTest {
 protected:
  void SetUp() override {
    StageTest::SetUp();
    summary_ = Generate(3000, 3, "zip");
    for (const auto& d : fs::directory_iterator(tmp_ / "gen/out")) {
      for (const auto& f : fs::directory_iterator(d.path())) {
        std::string key = "DATA/RAW_DATA/" + d.path().filename().string() + "/" + f.path().filename().string();
        ASSERT_TRUE(store_->PutObjectFromFile(kBucket, key, f.path().string()).ok());
        Status s = Run(ExtractStage, {{"bucket", kBucket}, {"key", key}});
        ASSERT_TRUE(s.ok()) << s.message();
      }
    }
    config_ = tmp_ / "cfg";
    fs::create_directories(config_);
    fs::copy(std::string(BUCKETD_SOURCE_DIR) + "/etc/seed/sql", config_ + "/sql", fs::copy_options::recursive);
  }
  Status Run(Status (*stage)(runner::StageContext&), const json& input) {
    auto ctx = Context(input);
    ctx.config_dir = config_;
    return stage(ctx);
  }
  json Json(const std::string& key) { return json::parse(Get(key), nullptr, false); }

  json summary_;
  std::string config_;
};

TEST_F(ChainTest, EveryStageWritesItsOutputsAndTheModelsComeCloseToTheTrueProbabilities) {
  Status s = Run(EtlStage, {{"bucket", kBucket}, {"key", "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240301.json"}});
  ASSERT_TRUE(s.ok()) << s.message() << Logs();
  json etl = Json("LOGS_QUERY_EXECUTION/logs_tables_20240301.json");
  ASSERT_FALSE(etl.is_discarded()) << Get("LOGS_QUERY_EXECUTION/logs_tables_20240301.json");
  EXPECT_EQ(etl["deliveries"].size(), 3u);
  EXPECT_GT(etl["tables"]["training"]["rows"].get<int>(), 100);
  EXPECT_GT(etl["tables"]["prediction"]["rows"].get<int>(), 100);

  const std::string marker = "LOGS_QUERY_EXECUTION/logs_tables_20240301.json";
  s = Run(InsightsStage, {{"bucket", kBucket}, {"key", marker}});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(Json("NOTEBOOKS_WORKFLOW/OUTPUT/insights_20240301.json").is_discarded());
  EXPECT_NE(Get("NOTEBOOKS_WORKFLOW/OUTPUT/insights_20240301.html").find("<svg"), std::string::npos);

  s = Run(TrainStage, {{"bucket", kBucket}, {"key", marker}});
  ASSERT_TRUE(s.ok()) << s.message() << Logs();
  json eval = Json("ALGORITHM/EVALUATION/evaluation_20240301.json");
  ASSERT_FALSE(eval.is_discarded());
  EXPECT_EQ(eval["date"], "20240301");
  for (const char* m : {"precision", "recall"}) {
    for (const char* k : {"auc", "pr_auc"}) EXPECT_TRUE(eval["models"][m][k].is_number()) << m << k;
    for (const char* th : {"threshold_0.5", "threshold_0.75"}) {
      for (const char* k : {"precision", "recall", "f1", "tp", "fp", "tn", "fn"}) {
        EXPECT_TRUE(eval["models"][m][th][k].is_number()) << m << th << k;
      }
    }
  }
  EXPECT_TRUE(Has("ALGORITHM/20240301/XGBOOST/MODELS/model_precision_1.json"));
  EXPECT_TRUE(Has("ALGORITHM/20240301/XGBOOST/MODELS/model_recall_1.json"));

  // The oracle: the generator's true probabilities on the same holdout rows.
  std::map<std::string, float> truth;
  std::ifstream gt(tmp_ / "gen/ground_truth.csv");
  std::string line;
  std::getline(gt, line);
  while (std::getline(gt, line)) {
    auto f = SplitCsvLine(line);
    truth[f[0] + "," + f[1]] = std::stof(f[2]);
  }
  std::vector<float> oracle, labels;
  std::istringstream holdout(Get(eval["holdout_key"].get<std::string>()));
  std::getline(holdout, line);
  while (std::getline(holdout, line)) {
    auto f = SplitCsvLine(line);
    ASSERT_TRUE(truth.count(f[0] + "," + f[1])) << line;
    oracle.push_back(truth[f[0] + "," + f[1]]);
    labels.push_back(std::stof(f[2]));
  }
  double oracle_auc = RocAuc(oracle, labels);
  double best = std::max(eval["models"]["precision"]["auc"].get<double>(), eval["models"]["recall"]["auc"].get<double>());
  EXPECT_GE(best, 0.9 * oracle_auc) << "oracle " << oracle_auc;
  std::printf("holdout rows %zu, oracle AUC %.3f, best model AUC %.3f\n", labels.size(), oracle_auc, best);

  s = Run(PredictStage, {{"bucket", kBucket}, {"key", "ALGORITHM/EVALUATION/evaluation_20240301.json"}});
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string dir = "ALGORITHM/20240301/DATA/PREDICT/LIST_POSITIVE_CLASS/";
  for (const char* f : {"full_prediction.csv", "full_prediction_proba_75.csv", "reg_prediction_proba_75.csv"}) {
    EXPECT_TRUE(Has(dir + f)) << f;
  }
  EXPECT_EQ(Get(dir + "reg_prediction_proba_75.csv").substr(0, 23), "REGNUMBER,PROBA_RECALL\n");
  EXPECT_TRUE(Has("DATA/LIST_USERS_PREDICTED/list_users_predicted_20240301.csv"));
}

TEST_F(ChainTest, ABrokenQueryStopsTheEtlWithItsFileLineAndSqlitesMessage) {
  std::ofstream(config_ + "/sql/03_features.sql", std::ios::app) << "\n\nSELECT no_such_column FROM sheets;\n";
  Status s = Run(EtlStage, {{"bucket", kBucket}, {"key", "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240301.json"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("03_features.sql:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no such column: no_such_column"), std::string::npos) << s.message();
  EXPECT_FALSE(Has("LOGS_QUERY_EXECUTION/logs_tables_20240301.json"));
}

// Deliveries extracted out of order (a stock delivery takes longest): the
// ETL of a later one does not run while an earlier one has archives but no
// marker yet; the marker that completes the set runs it, for the newest,
// with every delivery in it.
TEST_F(ChainTest, TheEtlWaitsForAnEarlierDeliveryStillBeingExtracted) {
  const std::string first = "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json";
  std::string marker = Get(first);
  ASSERT_FALSE(marker.empty());
  ASSERT_TRUE(store_->DeleteObject(kBucket, first).ok());  // 20240101 "still being extracted"
  ASSERT_TRUE(Run(EtlStage, {{"bucket", kBucket}, {"key", "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240301.json"}}).ok());
  EXPECT_FALSE(Has("LOGS_QUERY_EXECUTION/logs_tables_20240301.json")) << "ran without the 20240101 delivery";
  ASSERT_TRUE(store_->PutObjectFromString(kBucket, first, marker).ok());
  Status s = Run(EtlStage, {{"bucket", kBucket}, {"key", first}});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(Has("LOGS_QUERY_EXECUTION/logs_tables_20240101.json"));
  json log = Json("LOGS_QUERY_EXECUTION/logs_tables_20240301.json");
  ASSERT_TRUE(log.is_object()) << "the last marker did not run the newest delivery's ETL";
  EXPECT_EQ(log["date"], "20240301");
}

}  // namespace
}  // namespace bucketd::stages
