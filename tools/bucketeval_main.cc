// bucketeval: the headline figures of a finished seed run, for people and
// for README's first command.
//
//   bucketeval --bucket-dir ROOT/buckets/creditsafedata --date YYYYMMDD --truth GEN/ground_truth.csv
//
// Prints the local paths of the report, the evaluation and the predictions,
// each model's holdout AUC, the AUC of the generator's true probabilities on
// the same holdout rows (oracle_auc), and the number of predicted users.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "stages/feature_table.h"
#include "stages/metrics.h"

namespace fs = std::filesystem;

namespace {

int Fail(const std::string& why) {
  std::fprintf(stderr, "bucketeval: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bucketeval: the headline figures of a finished seed run"};
  std::string bucket_dir, date, truth_path;
  app.add_option("--bucket-dir", bucket_dir, "the bucket's directory (ROOT/buckets/creditsafedata)")->required();
  app.add_option("--date", date, "the run's YYYYMMDD (the newest delivery it included)")->required();
  app.add_option("--truth", truth_path, "bucketgen's ground_truth.csv")->required();
  CLI11_PARSE(app, argc, argv);
  bucket_dir = fs::absolute(bucket_dir).lexically_normal().string();

  std::string eval_path = bucket_dir + "/ALGORITHM/EVALUATION/evaluation_" + date + ".json";
  std::ifstream eval_in(eval_path);
  if (!eval_in) return Fail("cannot read " + eval_path);
  auto eval = nlohmann::json::parse(eval_in, nullptr, false);
  if (eval.is_discarded()) return Fail(eval_path + " is not JSON");

  std::map<std::string, float> truth;
  std::ifstream gt(truth_path);
  if (!gt) return Fail("cannot read " + truth_path);
  std::string line;
  std::getline(gt, line);
  while (std::getline(gt, line)) {
    auto f = bucketd::stages::SplitCsvLine(line);
    if (f.size() == 3) truth[f[0] + "," + f[1]] = std::stof(f[2]);
  }
  std::string holdout_path = bucket_dir + "/" + eval.value("holdout_key", std::string());
  std::ifstream holdout(holdout_path);
  if (!holdout) return Fail("cannot read " + holdout_path);
  std::vector<float> oracle, labels;
  std::getline(holdout, line);
  size_t unknown = 0;
  while (std::getline(holdout, line)) {
    auto f = bucketd::stages::SplitCsvLine(line);
    auto it = truth.find(f[0] + "," + f[1]);
    if (it == truth.end()) {
      ++unknown;
      continue;
    }
    oracle.push_back(it->second);
    labels.push_back(std::stof(f[2]));
  }
  if (unknown) return Fail(std::to_string(unknown) + " holdout rows are not in " + truth_path);

  size_t users = 0;
  std::string users_path = bucket_dir + "/DATA/LIST_USERS_PREDICTED/list_users_predicted_" + date + ".csv";
  std::ifstream users_in(users_path);
  if (!users_in) return Fail("cannot read " + users_path);
  std::getline(users_in, line);
  while (std::getline(users_in, line)) users += !line.empty();

  std::printf("report: %s/NOTEBOOKS_WORKFLOW/OUTPUT/insights_%s.html\n", bucket_dir.c_str(), date.c_str());
  std::printf("model evaluation page: %s/%s\n", bucket_dir.c_str(), eval.value("report_key", std::string()).c_str());
  std::printf("predictions: %s/ALGORITHM/%s/DATA/PREDICT/LIST_POSITIVE_CLASS/full_prediction.csv\n",
              bucket_dir.c_str(), date.c_str());
  std::printf("predicted users: %s (%zu)\n", users_path.c_str(), users);
  std::printf("holdout: %zu balance sheets\n", labels.size());
  std::printf("precision_model_auc: %.4f\n", eval["models"]["precision"]["auc"].get<double>());
  std::printf("recall_model_auc: %.4f\n", eval["models"]["recall"]["auc"].get<double>());
  std::printf("oracle_auc: %.4f\n", bucketd::stages::RocAuc(oracle, labels));
  std::printf("predicted_users: %zu\n", users);
  std::printf("evaluation: %s\n", eval_path.c_str());
  return 0;
}
