// The runner's queue logic on built-in stages and an injected clock:
// retries and backoff, dead-letter and redrive, event age, bad input, lanes,
// concurrency limits, loops, destinations.
#include <atomic>

#include <nlohmann/json.hpp>

#include "tests/runner/runner_fixture.h"

namespace bucketd::runner {
namespace {

constexpr int64_t kMs = 1'000'000;

class RetryTest : public RunnerFixture {
 protected:
  RetryTest() { use_fake_clock_ = true; }
  void SetUp() override {
    RunnerFixture::SetUp();
    BuiltinRegistry b = DefaultBuiltins();
    b.Add("flaky", [this](StageContext& ctx) {
      ++calls_;
      if (fixed_) return Status::OK();
      return Status::IOError("flaky failure #" + std::to_string(ctx.attempt));
    });
    b.Add("throws", [](StageContext&) -> Status { throw std::runtime_error("stat: Permission denied"); });
    AddFunction(Builtin("Flaky", "flaky"));
    AddFunction(Builtin("Throws", "throws"));
    AddFunction(Builtin("Noop", "noop"));
    RunnerOptions o = Options();
    o.retry_base_ns = 1000 * kMs;
    o.retry_max_ns = 4000 * kMs;
    MakeRunner(o, std::move(b));
  }
  std::atomic<int> calls_{0};
  std::atomic<bool> fixed_{false};
};

TEST_F(RetryTest, RetriesWaitForExponentialBackoffOnTheInjectedClock) {
  rules::Rule rule = MakeRule("r", Lambda("Flaky"));
  rule.targets[0].maximum_retry_attempts = 10;
  std::string id = Queue(rule, Record("k"));
  // jitter 0: each delay is half the doubled base, capped at 4 s.
  const int64_t expected_ms[] = {500, 1000, 2000, 2000, 2000};
  for (int attempt = 1; attempt <= 5; ++attempt) {
    ASSERT_TRUE(Until([&] { return Get(id).state == State::kFailed && Get(id).attempts == attempt; }))
        << "attempt " << attempt << "\n" << Logs();
    int64_t failed_at = clock_.NowNanos();
    EXPECT_EQ(Get(id).next_ns - failed_at, expected_ms[attempt - 1] * kMs) << "attempt " << attempt;
    clock_.Advance(expected_ms[attempt - 1] * kMs - 1);
    runner_->OnTick();
    EXPECT_EQ(Get(id).attempts, attempt) << "started before its backoff ran out";
    if (attempt == 5) fixed_ = true;
    clock_.Advance(1);
    runner_->OnTick();
  }
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  EXPECT_EQ(Get(id).attempts, 6);
  auto attempts = runner_->queue().Attempts(id);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 6u);
  EXPECT_EQ((*attempts)[0].error, "flaky failure #1");
  EXPECT_EQ((*attempts)[5].outcome, "succeeded");
}

TEST_F(RetryTest, AStageThatThrowsFailsItsAttemptAndOtherWorkRuns) {
  rules::Rule rule = MakeRule("r", Lambda("Throws"));
  rule.targets[0].maximum_retry_attempts = 0;
  std::string bad = Queue(rule, Record("k"));
  std::string good = Queue(MakeRule("ok", Lambda("Noop")), Record("k2"));
  ASSERT_TRUE(UntilState(bad, State::kDead)) << Logs();
  EXPECT_NE(Get(bad).error.find("the stage threw an exception: stat: Permission denied"), std::string::npos)
      << Get(bad).error;
  ASSERT_TRUE(UntilState(good, State::kSucceeded)) << Logs();
}

TEST_F(RetryTest, OutOfAttemptsIsDeadWithADeadLetterRecordAndRedriveRunsItOnceFixed) {
  ASSERT_TRUE(store_->CreateBucket("dlq").ok());
  rules::Rule rule = MakeRule("r", Lambda("Flaky"));
  rule.targets[0].maximum_retry_attempts = 2;
  rule.targets[0].dead_letter_arn = "arn:aws:s3:::dlq/dead/";
  std::string id = Queue(rule, Record("k"), std::string("{\"x\":42}"));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Until([&] { return Get(id).attempts == i + 1 && Get(id).state != State::kRunning; })) << Logs();
    clock_.Advance(10'000 * kMs);
  }
  ASSERT_TRUE(UntilState(id, State::kDead)) << Logs();
  Invocation v = Get(id);
  EXPECT_EQ(v.attempts, 3);
  EXPECT_NE(v.error.find("flaky failure #3 (3 attempts); no retries left (MaximumRetryAttempts 2)"), std::string::npos) << v.error;
  std::string record = testing::ReadFile(tmp_ / "root/buckets/dlq/dead/" + id + ".3.json");
  auto j = nlohmann::json::parse(record);
  EXPECT_EQ(j["invocationId"], id);
  EXPECT_EQ(j["attempts"], 3);
  EXPECT_EQ(j["input"], nlohmann::json::parse("{\"x\":42}"));
  EXPECT_EQ(j["event"]["id"], "event-1");
  EXPECT_NE(j["lastError"].get<std::string>().find("flaky failure #3"), std::string::npos);
  EXPECT_NE(Logs().find("dead: flaky failure #3"), std::string::npos);

  fixed_ = true;
  int before = calls_;
  auto n = runner_->Redrive({id});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  EXPECT_EQ(calls_ - before, 1);
  EXPECT_EQ(Get(id).attempts, 4);
  EXPECT_FALSE(runner_->Redrive({id}).ok()) << "only dead invocations are redriven";
}

TEST_F(RetryTest, AnEventOlderThanItsMaximumAgeIsNotRetried) {
  rules::Rule rule = MakeRule("r", Lambda("Flaky"));
  rule.targets[0].maximum_event_age_seconds = 60;
  std::string id = Queue(rule, Record("k"));
  ASSERT_TRUE(UntilState(id, State::kFailed)) << Logs();
  clock_.Advance(61'000 * kMs);
  ASSERT_TRUE(UntilState(id, State::kDead)) << Logs();
  EXPECT_EQ(Get(id).attempts, 1);
  EXPECT_NE(Get(id).error.find("older than the target's MaximumEventAgeInSeconds (60 s); last error: flaky failure #1"),
            std::string::npos) << Get(id).error;
}

TEST_F(RetryTest, BadInputsAreDeadWithClearErrorsAndOtherWorkRuns) {
  rules::Rule bad_input = MakeRule("bad-input", Lambda("Noop"));
  rules::Rule no_function = MakeRule("no-function", Lambda("Missing"));
  rules::Rule not_lambda = MakeRule("not-lambda", "arn:aws:sqs:us-east-1:123456789012:queue");
  rules::Rule good = MakeRule("good", Lambda("Noop"));
  std::string a = Queue(bad_input, Record("a"), Status::InvalidArgument("InputTemplate: <k> is not valid JSON"));
  std::string b = Queue(no_function, Record("b"));
  std::string c = Queue(not_lambda, Record("c"));
  std::string d = Queue(good, Record("d"));
  ASSERT_TRUE(UntilState(d, State::kSucceeded)) << Logs();
  EXPECT_EQ(Get(a).state, State::kDead);
  EXPECT_EQ(Get(a).error, "the target's input could not be built: InputTemplate: <k> is not valid JSON");
  EXPECT_EQ(Get(b).state, State::kDead);
  EXPECT_NE(Get(b).error.find("no function named 'Missing'"), std::string::npos) << Get(b).error;
  EXPECT_EQ(Get(c).state, State::kDead);
  EXPECT_NE(Get(c).error.find("names no local function"), std::string::npos) << Get(c).error;
  for (const auto& id : {a, b, c}) {
    EXPECT_EQ(Get(id).attempts, 0) << "a permanent error runs nothing";
    EXPECT_NE(Logs().find("[" + id + "#0] dead: "), std::string::npos) << Logs();
  }
}

TEST_F(RetryTest, TheSameMatchQueuesOnce) {
  rules::Rule rule = MakeRule("r", Lambda("Noop"));
  events::TrailRecord rec = Record("k");
  std::string first = Queue(rule, rec);
  std::string second = Queue(rule, rec);
  EXPECT_EQ(first, second);
  auto all = runner_->queue().Find(RunQuery{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  for (char c : first) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << first;
}

TEST_F(RetryTest, TheSixteenthHopOfAChainRunsAndTheSeventeenthIsStopped) {
  rules::Rule rule = MakeRule("loop", Lambda("Noop"));
  std::string ok = Queue(rule, Record("k", "chain-a:15"));
  std::string stopped = Queue(rule, Record("k2", "chain-a:16"));
  std::string fresh = Queue(rule, Record("k3"));
  ASSERT_TRUE(UntilState(ok, State::kSucceeded)) << Logs();
  ASSERT_TRUE(UntilState(stopped, State::kDead)) << Logs();
  EXPECT_EQ(Get(ok).hop, 16);
  EXPECT_EQ(Get(stopped).error,
            "recursive loop stopped: this would be invocation 17 of chain chain-a (limit 16); rule 'loop' keeps "
            "firing on objects its own chain writes");
  EXPECT_EQ(Get(fresh).chain, fresh) << "a chain starts at the invocation no invocation caused";
  EXPECT_EQ(Get(fresh).hop, 1);
}

class GateTest : public RunnerFixture {
 protected:
  void SetUp() override {
    RunnerFixture::SetUp();
    BuiltinRegistry b = DefaultBuiltins();
    b.Add("gate", [this](StageContext& ctx) {
      {
        std::lock_guard<std::mutex> l(mu_);
        order_.push_back(ctx.invocation_id);
        ++running_;
        max_running_ = std::max(max_running_, running_);
      }
      while (!open_ && !*ctx.cancelled) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      std::lock_guard<std::mutex> l(mu_);
      --running_;
      return Status::OK();
    });
    AddFunction(Builtin("Gate", "gate"));
    Function limited = Builtin("Limited", "gate");
    limited.reserved_concurrency = 1;
    AddFunction(limited);
    AddFunction(Builtin("Noop", "noop"));
    MakeRunner(Options(), std::move(b));
  }
  std::mutex mu_;
  std::vector<std::string> order_;
  int running_ = 0, max_running_ = 0;
  std::atomic<bool> open_{false};
};

TEST_F(GateTest, OneKeysInvocationsRunInOrderAndASlowOneHoldsUpNoOtherKey) {
  rules::Rule gate = MakeRule("gate", Lambda("Gate"));
  rules::Rule noop = MakeRule("noop", Lambda("Noop"));
  std::string k1a = Queue(gate, Record("k1"));
  std::string k1b = Queue(gate, Record("k1"));
  std::string k2 = Queue(noop, Record("k2"));
  ASSERT_TRUE(UntilState(k2, State::kSucceeded)) << "a slow key held up another";
  EXPECT_EQ(Get(k1a).state, State::kRunning);
  EXPECT_EQ(Get(k1b).state, State::kPending) << "the key's second invocation started before its first ended";
  open_ = true;
  ASSERT_TRUE(UntilState(k1b, State::kSucceeded)) << Logs();
  std::lock_guard<std::mutex> l(mu_);
  EXPECT_EQ(order_, (std::vector<std::string>{k1a, k1b}));
}

TEST_F(GateTest, ReservedConcurrencyCapsAFunctionAcrossKeys) {
  rules::Rule limited = MakeRule("limited", Lambda("Limited"));
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Queue(limited, Record("key" + std::to_string(i))));
  ASSERT_TRUE(Until([&] { return Get(ids[0]).state == State::kRunning; }));
  for (int i = 0; i < 20; ++i) runner_->OnTick();
  EXPECT_EQ(runner_->stats().running, 1u);
  open_ = true;
  for (const auto& id : ids) ASSERT_TRUE(UntilState(id, State::kSucceeded)) << Logs();
  std::lock_guard<std::mutex> l(mu_);
  EXPECT_EQ(max_running_, 1);
}

TEST_F(GateTest, ShutdownLetsAWorkingStageFinishBeforeItsDeadline) {
  rules::Rule gate = MakeRule("gate", Lambda("Gate"));  // Timeout 3 s
  std::string id = Queue(gate, Record("k"));
  // Until the stage itself runs (queued for a worker is not yet at work).
  ASSERT_TRUE(Until([&] {
    std::lock_guard<std::mutex> l(mu_);
    return !order_.empty();
  }));
  std::thread opener([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    open_ = true;
  });
  runner_->Shutdown();  // as on SIGTERM
  opener.join();
  EXPECT_EQ(Get(id).state, State::kSucceeded) << "the stage was stopped before its deadline\n" << Logs();
}

class DestinationTest : public RetryTest {};

TEST_F(DestinationTest, SuccessWritesALambdaShapedRecordAndFailureInvokesTheNotifier) {
  ASSERT_TRUE(store_->CreateBucket("notes").ok());
  Function ok = Builtin("Ok", "noop");
  ok.on_success = *ParseDestination("arn:aws:s3:::notes/success/");
  AddFunction(ok);
  Function bad = Builtin("Bad", "flaky");
  bad.on_failure = *ParseDestination(Lambda("Noop"));
  AddFunction(bad);
  runner_->SetFunctions(std::make_shared<FunctionSet>(functions_));
  std::string s = Queue(MakeRule("ok", Lambda("Ok")), Record("a"));
  rules::Rule failing = MakeRule("bad", Lambda("Bad"));
  failing.targets[0].maximum_retry_attempts = 0;
  std::string f = Queue(failing, Record("b"));
  ASSERT_TRUE(UntilState(s, State::kSucceeded)) << Logs();
  auto rec = nlohmann::json::parse(testing::ReadFile(tmp_ / "root/buckets/notes/success/Ok/" + s + ".success.json"));
  EXPECT_EQ(rec["requestContext"]["requestId"], s);
  EXPECT_EQ(rec["requestContext"]["condition"], "Success");
  EXPECT_EQ(rec["requestPayload"], nlohmann::json::parse("{\"k\":1}"));
  ASSERT_TRUE(UntilState(f, State::kDead)) << Logs();
  ASSERT_TRUE(Until([&] {
    auto all = runner_->queue().Find(RunQuery{});
    for (const auto& v : *all) {
      if (v.origin == "destination" && v.state == State::kSucceeded) return true;
    }
    return false;
  })) << Logs();
  auto all = runner_->queue().Find(RunQuery{});
  const Invocation* note = nullptr;
  for (const auto& v : *all) {
    if (v.origin == "destination") note = &v;
  }
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->function, "Noop");
  EXPECT_EQ(note->chain, Get(f).chain);
  EXPECT_EQ(note->hop, Get(f).hop + 1);
  auto payload = nlohmann::json::parse(note->input);
  EXPECT_EQ(payload["requestContext"]["condition"], "RetriesExhausted");
  EXPECT_EQ(payload["responseContext"]["functionError"], "Unhandled");
  EXPECT_NE(payload["responsePayload"]["errorMessage"].get<std::string>().find("flaky failure #1"), std::string::npos);
}

}  // namespace
}  // namespace bucketd::runner
