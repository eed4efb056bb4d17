// A real store in a temp directory and a StageContext to run built-in
// stages against it directly, collecting their log lines.
#ifndef BUCKETD_TESTS_STAGES_STAGE_FIXTURE_H_
#define BUCKETD_TESTS_STAGES_STAGE_FIXTURE_H_

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/env.h"
#include "runner/builtin.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace bucketd::stages {

class StageTest : public ::testing::Test {
 protected:
  static constexpr char kBucket[] = "creditsafedata";
  void SetUp() override {
    store_ = std::move(store::Store::Open(Env::Default(), tmp_ / "root")).value();
    ASSERT_TRUE(store_->CreateBucket(kBucket).ok());
  }
  runner::StageContext Context(const nlohmann::json& input) {
    runner::StageContext ctx;
    ctx.invocation_id = "test" + std::to_string(++calls_);
    ctx.input = input.dump();
    ctx.chain = "c:1";
    ctx.store = store_.get();
    ctx.state_dir = tmp_ / "state";
    ctx.cancelled = &cancelled_;
    ctx.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> l(mu_);
      logs_.push_back(line);
    };
    return ctx;
  }
  std::string Logs() {
    std::lock_guard<std::mutex> l(mu_);
    std::string all;
    for (const auto& s : logs_) all += s + "\n";
    return all;
  }
  std::string Get(const std::string& key) {
    store::StringSink sink;
    auto r = store_->GetObject(kBucket, key, sink);
    return r.ok() ? sink.data() : "<" + r.status().message() + ">";
  }
  bool Has(const std::string& key) { return store_->HeadObject(kBucket, key).ok(); }
  std::vector<std::string> Keys(const std::string& prefix) {
    store::ListRequest req;
    req.prefix = prefix;
    std::vector<std::string> keys;
    auto r = store_->ListObjectsV2(kBucket, req);
    if (r.ok()) {
      for (const auto& o : r->contents) keys.push_back(o.key);
    }
    return keys;
  }
  // Runs bucketgen into <tmp>/gen; returns its summary.
  nlohmann::json Generate(int companies, int months, const std::string& format) {
    auto r = testing::Run({testing::BinDir() + "/bucketgen", "--out", tmp_ / "gen", "--companies",
                           std::to_string(companies), "--months", std::to_string(months), "--seed", "7",
                           "--format", format});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(testing::ReadFile(tmp_ / "gen/summary.json"));
  }

  testing::TempDir tmp_;
  std::unique_ptr<store::Store> store_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int> calls_{0};  // tests run stages on threads of their own
  std::mutex mu_;
  std::vector<std::string> logs_;
};

}  // namespace bucketd::stages

#endif  // BUCKETD_TESTS_STAGES_STAGE_FIXTURE_H_
