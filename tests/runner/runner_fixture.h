// A runner over a real trail database and a real store in a temp directory,
// with matches made by hand, for the runner's tests.
#ifndef BUCKETD_TESTS_RUNNER_RUNNER_FIXTURE_H_
#define BUCKETD_TESTS_RUNNER_RUNNER_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "events/trail.h"
#include "rules/router.h"
#include "runner/runner.h"
#include "tests/runner/fake_executor.h"
#include "store/store.h"
#include "tests/fake_clock.h"
#include "tests/test_util.h"

namespace bucketd::runner {

class RunnerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir((tmp_ / "state").c_str(), 0700);
    ::mkdir((tmp_ / "out").c_str(), 0755);
    store_ = std::move(store::Store::Open(env(), tmp_ / "root")).value();
    trail_ = std::move(events::Trail::Open(env(), tmp_ / "state")).value();
    ASSERT_TRUE(InvocationStore::CreateTables(trail_->db()).ok());
  }
  void TearDown() override { runner_.reset(); }

  // Real time for exec targets (their supervisor keeps real time); the fake
  // clock for retry timing.
  Env& env() { return use_fake_clock_ ? fake_env_ : Env::Default(); }

  RunnerOptions Options() {
    RunnerOptions o;
    o.state_dir = tmp_ / "state";
    o.supervisor = testing::BinDir() + "/bucketd-supervisor";
    o.store_root = tmp_ / "root";
    o.workers = 4;
    o.jitter = [] { return 0.0; };
    o.poll_ns = 20'000'000;
    o.log = [this](events::LogLevel, const LogFields& f, const std::string& m) {
      std::lock_guard<std::mutex> l(log_mu_);
      std::string tag = f.invocation_id.empty() ? "" : "[" + f.invocation_id + "#" + std::to_string(f.attempt) +
                                                           (f.stream == 1 ? " stdout" : f.stream == 2 ? " stderr" : "") + "] ";
      logs_.push_back(tag + m);
    };
    return o;
  }

  void MakeRunner(RunnerOptions o, BuiltinRegistry builtins = DefaultBuiltins()) {
    runner_.reset();
    runner_ = std::make_unique<Runner>(env(), trail_->db(), *store_, std::move(o), std::move(builtins));
    runner_->SetFunctions(std::make_shared<FunctionSet>(functions_));
  }

  // A runner whose attempts run on FakeExecutors (exec_fake_, builtin_fake_)
  // and the fake clock: no threads, no processes, no sleeps.
  void MakeFakeRunner(RunnerOptions o) {
    runner_.reset();
    auto exec = std::make_unique<FakeExecutor>();
    auto builtin = std::make_unique<FakeExecutor>();
    exec_fake_ = exec.get();
    builtin_fake_ = builtin.get();
    runner_ = std::make_unique<Runner>(env(), trail_->db(), *store_, std::move(o), DefaultBuiltins(),
                                       Executors{std::move(exec), std::move(builtin), std::make_unique<FakeExecutor>()});
    runner_->SetFunctions(std::make_shared<FunctionSet>(functions_));
  }
  // Lets the runner hear of what ended and start what follows (with fake
  // executors, a few ticks settle everything).
  void Settle() {
    for (int i = 0; i < 4; ++i) runner_->OnTick();
  }

  void AddFunction(Function f) { functions_[f.name] = std::move(f); }
  Function Exec(const std::string& name, const std::map<std::string, std::string>& vars, int timeout = 30) {
    Function f;
    f.name = name;
    f.runtime = Runtime::kExec;
    f.handler = testing::BinDir() + "/runner_probe";
    f.timeout_seconds = timeout;
    f.environment = vars;
    f.environment["OUT"] = tmp_ / "out";
    return f;
  }
  Function Builtin(const std::string& name, const std::string& stage) {
    Function f;
    f.name = name;
    f.runtime = Runtime::kBuiltin;
    f.handler = stage;
    return f;
  }

  rules::Rule MakeRule(const std::string& name, const std::string& function_arn) {
    rules::Rule r;
    r.name = name;
    rules::Target t;
    t.id = "t1";
    t.arn = function_arn;
    t.function = rules::LambdaFunctionName(function_arn);
    r.targets.push_back(t);
    return r;
  }
  static std::string Lambda(const std::string& fn) { return "arn:aws:lambda:local:000000000000:function:" + fn; }

  events::TrailRecord Record(const std::string& key, const std::string& chain = "") {
    events::TrailRecord r;
    r.seq = ++seq_;
    r.event_id = "event-" + std::to_string(r.seq);
    r.time_ns = env().clock().NowNanos();
    r.change.bucket = "data";
    r.change.key = key;
    r.change.chain = chain;
    return r;
  }

  // Queues (rule, its first target, record) as the router would, in a
  // transaction, and lets the runner start it. Returns the invocation id.
  std::string Queue(const rules::Rule& rule, const events::TrailRecord& rec,
                    Result<std::string> input = std::string("{\"k\":1}")) {
    rules::Match m{&rule, &rule.targets[0], &rec, "{\"id\":\"" + rec.event_id + "\"}", rec.event_id,
                   std::move(input), ""};
    {
      auto txn = Transaction::Begin(trail_->db());
      EXPECT_TRUE(txn.ok());
      EXPECT_TRUE(runner_->Enqueue(*txn, {m}).ok());
      EXPECT_TRUE(txn->Commit().ok());
    }
    runner_->OnDurable();
    auto rows = runner_->queue().Find(RunQuery{"", std::nullopt, 0, "", 1});
    return rows.ok() && !rows->empty() ? rows->front().id : "";
  }

  Invocation Get(const std::string& id) {
    auto v = runner_->queue().Get(id);
    EXPECT_TRUE(v.ok() && v->has_value()) << id;
    return v.ok() && v->has_value() ? **v : Invocation();
  }

  // Ticks the runner (and reaps its supervisors) until pred holds; bounded
  // in real time so a broken runner fails the test instead of hanging it.
  bool Until(const std::function<bool()>& pred, int timeout_ms = 15000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      runner_->OnChildExit();
      runner_->OnTick();
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  // Polls pred (bounded) while no runner exists, e.g. between a runner's
  // end and the next one's start.
  static bool WaitWithoutRunner(const std::function<bool()>& pred, int timeout_ms = 5000) {
    for (int waited = 0; waited < timeout_ms && !pred(); waited += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }
  bool UntilState(const std::string& id, State s, int timeout_ms = 15000) {
    return Until([&] { return Get(id).state == s; }, timeout_ms);
  }

  std::string Logs() {
    std::lock_guard<std::mutex> l(log_mu_);
    std::string all;
    for (const auto& s : logs_) all += s + "\n";
    return all;
  }

  testing::TempDir tmp_;
  bool use_fake_clock_ = false;
  testing::FakeClock clock_{1'800'000'000'000'000'000};
  Env fake_env_{Env::Default().fs(), clock_};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<events::Trail> trail_;
  std::unique_ptr<Runner> runner_;
  FakeExecutor* exec_fake_ = nullptr;     // MakeFakeRunner's, owned by runner_
  FakeExecutor* builtin_fake_ = nullptr;
  FunctionSet functions_;
  int64_t seq_ = 0;
  std::mutex log_mu_;
  std::vector<std::string> logs_;
};

}  // namespace bucketd::runner

#endif  // BUCKETD_TESTS_RUNNER_RUNNER_FIXTURE_H_
