// The seed chain, stage by stage: from the archives landed in the bucket to
// the predictions written, at several sizes, each stage in a child process
// of its own so its wall time and peak memory (ru_maxrss) are its own; then
// the same ETL + training + prediction in Python (pandas + xgboost, Debian's
// python3-pandas and python3-xgboost, bench/chain_pandas.py) on the same
// unpacked files and parameters, as the ratio to beat.
//
//   chain_bench [--companies 20000,200000,1000000] [--dir D] [--no-python]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_check.h"
#include "common/env.h"
#include "runner/builtin.h"
#include "stages/etl.h"
#include "stages/extract.h"
#include "stages/insights.h"
#include "stages/predict.h"
#include "stages/train.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace bucketd;
using bench::Check;
using nlohmann::json;

namespace {

struct Cost {
  double wall = 0;
  double max_rss_mib = 0;
};

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Runs fn in a forked child; its wall time and peak RSS.
Cost InChild(const std::function<int()>& fn) {
  std::fflush(stdout);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int status = 0;
  struct rusage ru;
  wait4(pid, &status, 0, &ru);
  Check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a stage failed (see above)");
  return {Since(start), static_cast<double>(ru.ru_maxrss) / 1024};
}

int RunStage(Status (*stage)(runner::StageContext&), const std::string& root, const std::string& state,
             const std::string& config, const json& input) {
  auto store = store::Store::Open(Env::Default(), root);
  if (!store.ok()) return 1;
  std::atomic<bool> cancelled{false};
  runner::StageContext ctx;
  ctx.invocation_id = "bench";
  ctx.input = input.dump();
  ctx.store = store->get();
  ctx.state_dir = state;
  ctx.config_dir = config;
  ctx.cancelled = &cancelled;
  ctx.log = [](const std::string&) {};
  Status s = stage(ctx);
  if (!s.ok()) std::fprintf(stderr, "stage: %s\n", s.message().c_str());
  return s.ok() ? 0 : 1;
}

void BenchSize(const std::string& base, uint64_t companies, bool python) {
  std::string dir = base + "/n" + std::to_string(companies);
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto g = testing::Run({testing::BinDir() + "/bucketgen", "--out", dir + "/gen", "--companies",
                         std::to_string(companies), "--months", "3", "--seed", "1", "--format", "rar"});
  Check(g.exit_code == 0, "bucketgen: " + g.err);
  const std::string root = dir + "/root", state = dir + "/state", config = std::string(BUCKETD_SOURCE_DIR) + "/etc/seed";
  fs::create_directories(state);
  std::vector<std::string> keys;
  {
    auto store = store::Store::Open(Env::Default(), root);
    Check(store.ok() && (*store)->CreateBucket("creditsafedata").ok(), "store");
    for (const auto& d : fs::directory_iterator(dir + "/gen/out")) {
      for (const auto& f : fs::directory_iterator(d.path())) {
        std::string key = "DATA/RAW_DATA/" + d.path().filename().string() + "/" + f.path().filename().string();
        Check((*store)->PutObjectFromFile("creditsafedata", key, f.path().string()).ok(), "put");
        keys.push_back(key);
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  const std::string b = "creditsafedata";
  std::vector<std::pair<std::string, Cost>> costs;
  costs.emplace_back("extract (33 archives)", InChild([&] {
                       for (const auto& k : keys) {
                         if (RunStage(stages::ExtractStage, root, state, config, {{"bucket", b}, {"key", k}})) return 1;
                       }
                       return 0;
                     }));
  costs.emplace_back("etl (load + SQL + export)", InChild([&] {
                       return RunStage(stages::EtlStage, root, state, config,
                                       {{"bucket", b}, {"key", "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240301.json"}});
                     }));
  json marker = {{"bucket", b}, {"key", "LOGS_QUERY_EXECUTION/logs_tables_20240301.json"}};
  costs.emplace_back("insights", InChild([&] { return RunStage(stages::InsightsStage, root, state, config, marker); }));
  costs.emplace_back("train (2 models)", InChild([&] { return RunStage(stages::TrainStage, root, state, config, marker); }));
  costs.emplace_back("predict", InChild([&] {
                       return RunStage(stages::PredictStage, root, state, config,
                                       {{"bucket", b}, {"key", "ALGORITHM/EVALUATION/evaluation_20240301.json"}});
                     }));
  std::string bucket_dir = root + "/buckets/creditsafedata";
  auto eval = json::parse(testing::ReadFile(bucket_dir + "/ALGORITHM/EVALUATION/evaluation_20240301.json"));
  auto etl_log = json::parse(testing::ReadFile(bucket_dir + "/LOGS_QUERY_EXECUTION/logs_tables_20240301.json"));
  auto oracle = testing::Run({testing::BinDir() + "/bucketeval", "--bucket-dir", bucket_dir, "--date", "20240301",
                              "--truth", dir + "/gen/ground_truth.csv"});
  std::string oracle_auc = oracle.out.substr(oracle.out.find("oracle_auc: ") + 12, 6);
  double total = 0, peak = 0, train_s = 0, etl_predict = 0;
  std::printf("\n%llu companies: training %d rows, prediction %d rows; AUC precision %.4f, recall %.4f, oracle %s\n",
              static_cast<unsigned long long>(companies), etl_log["tables"]["training"]["rows"].get<int>(),
              etl_log["tables"]["prediction"]["rows"].get<int>(), eval["models"]["precision"]["auc"].get<double>(),
              eval["models"]["recall"]["auc"].get<double>(), oracle_auc.c_str());
  for (const auto& [name, c] : costs) {
    std::printf("  %-28s %8.2f s  peak RSS %8.1f MiB\n", name.c_str(), c.wall, c.max_rss_mib);
    total += c.wall;
    peak = std::max(peak, c.max_rss_mib);
    if (name.rfind("train", 0) == 0) train_s = c.wall;
    if (name.rfind("etl", 0) == 0 || name == "predict") etl_predict += c.wall;
  }
  std::printf("  %-28s %8.2f s  peak RSS %8.1f MiB\n", "whole chain", total, peak);
  // Where the ETL's time went: loading, then each statement.
  std::printf("    etl: load %lld ms", static_cast<long long>(etl_log["load_ms"].get<int64_t>()));
  for (const auto& q : etl_log["queries"]) {
    if (q["duration_ms"].get<int64_t>() >= 100) {
      std::printf(", %s:%d %lld ms", q["file"].get<std::string>().c_str(), q["line"].get<int>(),
                  static_cast<long long>(q["duration_ms"].get<int64_t>()));
    }
  }
  std::printf(" (of %lld ms)\n", static_cast<long long>(etl_log["duration_ms"].get<int64_t>()));
  if (!python) return;
  std::string out_json = dir + "/python.json";
  Cost py = InChild([&] {
    execl("/usr/bin/python3", "python3", (std::string(BUCKETD_SOURCE_DIR) + "/bench/chain_pandas.py").c_str(),
          bucket_dir.c_str(), "20240301", config.c_str(), out_json.c_str(), static_cast<char*>(nullptr));
    return 127;
  });
  auto p = json::parse(testing::ReadFile(out_json));
  double py_etl_predict = p["load_s"].get<double>() + p["etl_s"].get<double>() + p["predict_s"].get<double>();
  double py_chain = py_etl_predict + p["train_s"].get<double>();
  double our_chain = etl_predict + train_s;
  std::printf("  python (pandas + xgboost): load %.2f s, ETL %.2f s, train %.2f s, predict %.2f s, peak RSS %.1f MiB; "
              "AUC precision %.4f, recall %.4f\n",
              p["load_s"].get<double>(), p["etl_s"].get<double>(), p["train_s"].get<double>(),
              p["predict_s"].get<double>(), py.max_rss_mib, p["auc_precision"].get<double>(),
              p["auc_recall"].get<double>());
  std::printf("  ratios (python / ours): load+ETL+predict %.2fx, training %.2fx, ETL+train+predict %.2fx\n",
              py_etl_predict / etl_predict, p["train_s"].get<double>() / train_s, py_chain / our_chain);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint64_t> sizes = {20000, 200000, 1000000};
  std::string dir = "/var/tmp/bucketd-chain-bench";
  bool python = true;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--companies" && i + 1 < argc) {
      sizes.clear();
      std::stringstream list(argv[++i]);
      for (std::string n; std::getline(list, n, ',');) sizes.push_back(std::stoull(n));
    } else if (flag == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (flag == "--no-python") {
      python = false;
    } else {
      Check(false, "unknown flag " + flag);
    }
  }
  for (uint64_t n : sizes) BenchSize(dir, n, python);
  fs::remove_all(dir);
  return 0;
}
