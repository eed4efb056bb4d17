// The runner's queue logic on fake executors and an injected clock, with no
// threads, processes or sleeps: retries and backoff, dead-letter and
// redrive, event age, bad input, lanes, concurrency limits, loops,
// destinations, held starts, recovery, shutdown. The built-in stage pool
// and the supervised executor have tests of their own (BuiltinStageTest
// below, exec_test.cc).
#include <sys/stat.h>

#include <atomic>

#include <nlohmann/json.hpp>

#include "tests/runner/runner_fixture.h"

namespace bucketd::runner {
namespace {

constexpr int64_t kMs = 1'000'000;

class RunnerTest : public RunnerFixture {
 protected:
  RunnerTest() { use_fake_clock_ = true; }
  void SetUp() override {
    RunnerFixture::SetUp();
    AddFunction(Builtin("Flaky", "flaky"));
    AddFunction(Builtin("Gate", "gate"));
    Function limited = Builtin("Limited", "gate");
    limited.reserved_concurrency = 1;
    AddFunction(limited);
    AddFunction(Builtin("Noop", "noop"));
    RunnerOptions o = Options();
    o.retry_base_ns = 1000 * kMs;
    o.retry_max_ns = 4000 * kMs;
    MakeFakeRunner(o);
    builtin_fake_->On("Flaky", [this](const FakeExecutor::Started& s) {
      ++calls_;
      if (fixed_) return std::optional<FakeExecutor::End>(FakeExecutor::End{});
      return std::optional<FakeExecutor::End>(FakeExecutor::End{false, "flaky failure #" + std::to_string(s.attempt)});
    });
    auto gate = [](const FakeExecutor::Started&) { return std::optional<FakeExecutor::End>(); };
    builtin_fake_->On("Gate", gate);
    builtin_fake_->On("Limited", gate);
  }
  std::vector<std::string> StartedIds() const {
    std::vector<std::string> out;
    for (const auto& s : builtin_fake_->started) out.push_back(s.id);
    return out;
  }
  int calls_ = 0;
  bool fixed_ = false;
};

TEST_F(RunnerTest, RetriesWaitForExponentialBackoffOnTheInjectedClock) {
  rules::Rule rule = MakeRule("r", Lambda("Flaky"));
  rule.targets[0].maximum_retry_attempts = 10;
  std::string id = Queue(rule, Record("k"));
  // jitter 0: each delay is half the doubled base, capped at 4 s.
  const int64_t expected_ms[] = {500, 1000, 2000, 2000, 2000};
  for (int attempt = 1; attempt <= 5; ++attempt) {
    Settle();
    ASSERT_EQ(Get(id).state, State::kFailed) << "attempt " << attempt << "\n" << Logs();
    ASSERT_EQ(Get(id).attempts, attempt);
    int64_t failed_at = clock_.NowNanos();
    EXPECT_EQ(Get(id).next_ns - failed_at, expected_ms[attempt - 1] * kMs) << "attempt " << attempt;
    clock_.Advance(expected_ms[attempt - 1] * kMs - 1);
    Settle();
    EXPECT_EQ(Get(id).attempts, attempt) << "started before its backoff ran out";
    if (attempt == 5) fixed_ = true;
    clock_.Advance(1);
    runner_->OnTick();
  }
  Settle();
  ASSERT_EQ(Get(id).state, State::kSucceeded) << Logs();
  EXPECT_EQ(Get(id).attempts, 6);
  EXPECT_EQ(calls_, 6);
  auto attempts = runner_->queue().Attempts(id);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 6u);
  EXPECT_EQ((*attempts)[0].error, "flaky failure #1");
  EXPECT_EQ((*attempts)[5].outcome, "succeeded");
}

TEST_F(RunnerTest, OutOfAttemptsIsDeadWithADeadLetterRecordAndRedriveRunsItOnceFixed) {
  ASSERT_TRUE(store_->CreateBucket("dlq").ok());
  rules::Rule rule = MakeRule("r", Lambda("Flaky"));
  rule.targets[0].maximum_retry_attempts = 2;
  rule.targets[0].dead_letter_arn = "arn:aws:s3:::dlq/dead/";
  std::string id = Queue(rule, Record("k"), std::string("{\"x\":42}"));
  for (int i = 0; i < 3; ++i) {
    Settle();
    ASSERT_EQ(Get(id).attempts, i + 1) << Logs();
    clock_.Advance(10'000 * kMs);
  }
  ASSERT_EQ(Get(id).state, State::kDead) << Logs();
  Invocation v = Get(id);
  EXPECT_EQ(v.attempts, 3);
  EXPECT_NE(v.error.find("flaky failure #3 (3 attempts); no retries left (MaximumRetryAttempts 2)"), std::string::npos) << v.error;
  std::string record = testing::ReadFile(tmp_ / "root/buckets/dlq/dead/" + id + ".3.json");
  struct stat st;
  ASSERT_EQ(::stat((tmp_ / "root/buckets/dlq/dead/" + id + ".3.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0007, 0u) << "a dead-letter record carries the input: not for others to read";
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
  Settle();
  ASSERT_EQ(Get(id).state, State::kSucceeded) << Logs();
  EXPECT_EQ(calls_ - before, 1);
  EXPECT_EQ(Get(id).attempts, 4);
  EXPECT_FALSE(runner_->Redrive({id}).ok()) << "only dead invocations are redriven";
}

TEST_F(RunnerTest, AnEventOlderThanItsMaximumAgeIsNotRetried) {
  rules::Rule rule = MakeRule("r", Lambda("Flaky"));
  rule.targets[0].maximum_event_age_seconds = 60;
  std::string id = Queue(rule, Record("k"));
  Settle();
  ASSERT_EQ(Get(id).state, State::kFailed) << Logs();
  clock_.Advance(61'000 * kMs);
  Settle();
  ASSERT_EQ(Get(id).state, State::kDead) << Logs();
  EXPECT_EQ(Get(id).attempts, 1);
  EXPECT_NE(Get(id).error.find("older than its MaximumEventAgeInSeconds (60 s); last error: flaky failure #1"),
            std::string::npos) << Get(id).error;
}

// PutFunctionEventInvokeConfig's settings on the function govern its errors,
// as in AWS, whatever the target's RetryPolicy says (that one governs
// delivery to the function).
TEST_F(RunnerTest, TheFunctionsEventInvokeConfigGovernsItsErrorsNotTheTargetsRetryPolicy) {
  Function strict = Builtin("Strict", "flaky");
  strict.max_retry_attempts = 1;
  strict.max_event_age_seconds = 120;
  AddFunction(strict);
  MakeFakeRunner(Options());
  builtin_fake_->On("Strict", [this](const FakeExecutor::Started& s) {
    ++calls_;
    return std::optional<FakeExecutor::End>(FakeExecutor::End{false, "strict failure #" + std::to_string(s.attempt)});
  });
  rules::Rule rule = MakeRule("r", Lambda("Strict"));
  rule.targets[0].maximum_retry_attempts = 10;
  std::string id = Queue(rule, Record("k"));
  for (int i = 0; i < 2; ++i) {
    Settle();
    clock_.Advance(10'000 * kMs);
  }
  Settle();
  ASSERT_EQ(Get(id).state, State::kDead) << Logs();
  EXPECT_EQ(Get(id).attempts, 2);
  EXPECT_EQ(Get(id).max_age_seconds, 120) << "the function's, not the target's 86400";
  EXPECT_NE(Get(id).error.find("(MaximumRetryAttempts 1)"), std::string::npos) << Get(id).error;
  rules::Rule zero = MakeRule("z", Lambda("Strict"));
  zero.targets[0].maximum_retry_attempts = 0;
  std::string other = Queue(zero, Record("k2"));
  for (int i = 0; i < 2; ++i) {
    Settle();
    clock_.Advance(10'000 * kMs);
  }
  Settle();
  ASSERT_EQ(Get(other).state, State::kDead) << Logs();
  EXPECT_EQ(Get(other).attempts, 2) << "the function's one retry, though the target allows none";
  // A function without the settings keeps the target's policy (an exec or
  // built-in target; a Lambda runtime's default is Lambda's 2 retries, 6 h).
  Function plain = Builtin("Plain", "flaky");
  EXPECT_FALSE(plain.max_retry_attempts.has_value());
}

TEST_F(RunnerTest, BadInputsAreDeadWithClearErrorsAndOtherWorkRuns) {
  rules::Rule bad_input = MakeRule("bad-input", Lambda("Noop"));
  rules::Rule no_function = MakeRule("no-function", Lambda("Missing"));
  rules::Rule not_lambda = MakeRule("not-lambda", "arn:aws:sqs:us-east-1:123456789012:queue");
  rules::Rule good = MakeRule("good", Lambda("Noop"));
  std::string a = Queue(bad_input, Record("a"), Status::InvalidArgument("InputTemplate: <k> is not valid JSON"));
  std::string b = Queue(no_function, Record("b"));
  std::string c = Queue(not_lambda, Record("c"));
  std::string d = Queue(good, Record("d"));
  Settle();
  ASSERT_EQ(Get(d).state, State::kSucceeded) << Logs();
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
  EXPECT_EQ(StartedIds(), std::vector<std::string>{d});
}

TEST_F(RunnerTest, TheSameMatchQueuesOnce) {
  rules::Rule rule = MakeRule("r", Lambda("Noop"));
  events::TrailRecord rec = Record("k");
  std::string first = Queue(rule, rec);
  std::string second = Queue(rule, rec);
  EXPECT_EQ(first, second);
  auto all = runner_->queue().Find(RunQuery{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  for (char c : first) EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c))) << first;
  Settle();
  EXPECT_EQ(builtin_fake_->started.size(), 1u);
}

TEST_F(RunnerTest, TheSixteenthHopOfAChainRunsAndTheSeventeenthIsStopped) {
  rules::Rule rule = MakeRule("loop", Lambda("Noop"));
  std::string ok = Queue(rule, Record("k", "chain-a:15"));
  std::string stopped = Queue(rule, Record("k2", "chain-a:16"));
  std::string fresh = Queue(rule, Record("k3"));
  Settle();
  ASSERT_EQ(Get(ok).state, State::kSucceeded) << Logs();
  ASSERT_EQ(Get(stopped).state, State::kDead) << Logs();
  EXPECT_EQ(Get(ok).hop, 16);
  EXPECT_EQ(builtin_fake_->started.front().chain, "chain-a:16") << "the attempt is told its place in the chain";
  EXPECT_EQ(Get(stopped).error,
            "recursive loop stopped: this would be invocation 17 of chain chain-a (limit 16); rule 'loop' keeps "
            "firing on objects its own chain writes");
  EXPECT_EQ(Get(fresh).chain, fresh) << "a chain starts at the invocation no invocation caused";
  EXPECT_EQ(Get(fresh).hop, 1);
}

TEST_F(RunnerTest, OneKeysInvocationsRunInOrderAndASlowOneHoldsUpNoOtherKey) {
  rules::Rule gate = MakeRule("gate", Lambda("Gate"));
  rules::Rule noop = MakeRule("noop", Lambda("Noop"));
  std::string k1a = Queue(gate, Record("k1"));
  std::string k1b = Queue(gate, Record("k1"));
  std::string k2 = Queue(noop, Record("k2"));
  Settle();
  ASSERT_EQ(Get(k2).state, State::kSucceeded) << "a slow key held up another";
  EXPECT_EQ(Get(k1a).state, State::kRunning);
  EXPECT_EQ(Get(k1b).state, State::kPending) << "the key's second invocation started before its first ended";
  ASSERT_TRUE(builtin_fake_->Finish(k1a));
  Settle();
  EXPECT_EQ(Get(k1a).state, State::kSucceeded);
  EXPECT_EQ(Get(k1b).state, State::kRunning);
  ASSERT_TRUE(builtin_fake_->Finish(k1b));
  Settle();
  EXPECT_EQ(Get(k1b).state, State::kSucceeded) << Logs();
  EXPECT_EQ(StartedIds(), (std::vector<std::string>{k1a, k2, k1b}));
}

TEST_F(RunnerTest, ReservedConcurrencyCapsAFunctionAcrossKeys) {
  rules::Rule limited = MakeRule("limited", Lambda("Limited"));
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Queue(limited, Record("key" + std::to_string(i))));
  for (size_t i = 0; i < ids.size(); ++i) {
    Settle();
    EXPECT_EQ(runner_->stats().running, 1u);
    ASSERT_EQ(builtin_fake_->running(), std::set<std::string>{ids[i]}) << "queue order across keys";
    ASSERT_TRUE(builtin_fake_->Finish(ids[i]));
  }
  Settle();
  for (const auto& id : ids) EXPECT_EQ(Get(id).state, State::kSucceeded) << Logs();
}

TEST_F(RunnerTest, AtMostWorkersAttemptsRunAtOnceAndTheNextStartsWhenOneEnds) {
  RunnerOptions o = Options();
  o.workers = 2;
  MakeFakeRunner(o);
  builtin_fake_->On("Gate", [](const FakeExecutor::Started&) { return std::optional<FakeExecutor::End>(); });
  rules::Rule gate = MakeRule("gate", Lambda("Gate"));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Queue(gate, Record("key" + std::to_string(i))));
  Settle();
  EXPECT_EQ(builtin_fake_->running(), (std::set<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(runner_->stats().queued, 1u);
  ASSERT_TRUE(builtin_fake_->Finish(ids[1], {false, "boom"}));
  Settle();
  EXPECT_EQ(builtin_fake_->running(), (std::set<std::string>{ids[0], ids[2]}))
      << "the freed slot goes to the next in line, the failed one waits for its backoff";
}

TEST_F(RunnerTest, AHeldStartGoesWithTheCommitAndIsDroppedWithARollback) {
  AddFunction(Exec("Prog", {}));
  runner_->SetFunctions(std::make_shared<FunctionSet>(functions_));
  exec_fake_->can_hold = true;
  rules::Rule rule = MakeRule("r", Lambda("Prog"));
  events::TrailRecord rec = Record("k");
  rules::Match m{&rule, &rule.targets[0], &rec, "{}", rec.event_id, std::string("{}"), ""};
  {
    auto txn = Transaction::Begin(trail_->db());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(runner_->Enqueue(*txn, {m}).ok());
    runner_->PrepareStarts();
    ASSERT_EQ(exec_fake_->started.size(), 1u);
    EXPECT_TRUE(exec_fake_->started[0].held) << "handed over inside the transaction, held";
    EXPECT_TRUE(exec_fake_->releases.empty());
    // txn goes out of scope: rolled back.
  }
  runner_->OnRollback();
  EXPECT_EQ(exec_fake_->releases, std::vector<bool>{false});
  EXPECT_EQ(exec_fake_->dropped.size(), 1u);
  EXPECT_EQ(runner_->stats().running, 0u);
  EXPECT_EQ(runner_->stats().queued, 0u) << "a rolled-back invocation is forgotten";
  Settle();
  EXPECT_EQ(exec_fake_->started.size(), 1u) << "nothing of the rolled-back transaction starts";

  {
    auto txn = Transaction::Begin(trail_->db());
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(runner_->Enqueue(*txn, {m}).ok());
    runner_->PrepareStarts();
    ASSERT_TRUE(txn->Commit().ok());
  }
  runner_->OnDurable();
  EXPECT_EQ(exec_fake_->releases, (std::vector<bool>{false, true}));
  Settle();
  auto all = runner_->queue().Find(RunQuery{});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().state, State::kSucceeded) << Logs();
  EXPECT_EQ(all->front().attempts, 1);
}

TEST_F(RunnerTest, AnAttemptThatNeverStartedCostsNoRetry) {
  builtin_fake_->On("Noop", [](const FakeExecutor::Started& s) {
    return std::optional<FakeExecutor::End>(FakeExecutor::End{s.attempt > 1, "", s.attempt == 1});
  });
  rules::Rule rule = MakeRule("r", Lambda("Noop"));
  rule.targets[0].maximum_retry_attempts = 0;
  std::string id = Queue(rule, Record("k"));
  Settle();
  EXPECT_EQ(Get(id).state, State::kSucceeded) << Logs();
  EXPECT_EQ(builtin_fake_->started.size(), 2u);
  EXPECT_NE(Logs().find("attempt 1 never started; queued again"), std::string::npos) << Logs();
}

TEST_F(RunnerTest, AStartErrorFailsTheAttemptAndItIsRetriedAfterItsBackoff) {
  builtin_fake_->start_error = Status::IOError("no such stage program");
  rules::Rule rule = MakeRule("r", Lambda("Noop"));
  rule.targets[0].maximum_retry_attempts = 1;
  std::string id = Queue(rule, Record("k"));
  Settle();
  EXPECT_EQ(Get(id).state, State::kFailed);
  EXPECT_EQ(Get(id).error, "cannot start the attempt: no such stage program");
  EXPECT_FALSE(runner_->stats().stalled) << "a writable state directory: the start's failure is the attempt's";
  builtin_fake_->start_error = Status::OK();
  clock_.Advance(1000 * kMs);
  Settle();
  EXPECT_EQ(Get(id).state, State::kSucceeded) << Logs();
  EXPECT_EQ(Get(id).attempts, 2);
}

// Issue 13, item 8: a refusal that no retry can change (an archive bomb, a
// CRC that does not match) was retried MaximumRetryAttempts times.
TEST_F(RunnerTest, APermanentFailureIsDeadAfterOneAttemptAndARedriveTriesAgain) {
  rules::Rule rule = MakeRule("r", Lambda("Noop"));
  rule.targets[0].maximum_retry_attempts = 2;
  builtin_fake_->On("Noop", [](const FakeExecutor::Started&) {
    FakeExecutor::End end{false, "refused as an archive bomb"};
    end.permanent = true;
    return std::optional<FakeExecutor::End>(end);
  });
  std::string id = Queue(rule, Record("k"));
  Settle();
  EXPECT_EQ(Get(id).state, State::kDead);
  EXPECT_EQ(Get(id).attempts, 1);
  EXPECT_EQ(Get(id).error, "refused as an archive bomb (1 attempt); not retried: a permanent error");
  clock_.Advance(60'000 * kMs);
  Settle();
  EXPECT_EQ(Get(id).attempts, 1) << "no retry after a backoff either";
  // Once the input is fixed, a redrive is the way to try again.
  builtin_fake_->On("Noop", [](const FakeExecutor::Started&) { return std::optional<FakeExecutor::End>(FakeExecutor::End{}); });
  ASSERT_TRUE(runner_->Redrive({id}).ok());
  Settle();
  EXPECT_EQ(Get(id).state, State::kSucceeded) << Logs();
  EXPECT_EQ(Get(id).attempts, 2);
}

TEST_F(RunnerTest, RecoveryReattachesToARunningAttemptAndCollectsOneThatEndedMeanwhile) {
  AddFunction(Exec("Prog", {}));
  runner_->SetFunctions(std::make_shared<FunctionSet>(functions_));
  rules::Rule rule = MakeRule("r", Lambda("Prog"));
  exec_fake_->On("Prog", [](const FakeExecutor::Started&) { return std::optional<FakeExecutor::End>(); });
  std::string running = Queue(rule, Record("a"));
  std::string ended = Queue(rule, Record("b"));
  std::string later = Queue(rule, Record("a"));  // behind `running` in its lane
  Settle();
  ASSERT_EQ(exec_fake_->running(), (std::set<std::string>{running, ended}));

  // A new bucketd: its executor finds both attempts' traces.
  MakeFakeRunner(Options());
  exec_fake_->traces = {{running, 1}, {ended, 1}};
  exec_fake_->still_running = {running};
  exec_fake_->On("Prog", [](const FakeExecutor::Started&) { return std::optional<FakeExecutor::End>(); });
  ASSERT_TRUE(runner_->Recover().ok());
  EXPECT_EQ(Get(ended).state, State::kSucceeded) << Logs();
  EXPECT_EQ(Get(ended).attempts, 1) << "collected, not run again";
  EXPECT_EQ(Get(running).state, State::kRunning);
  EXPECT_NE(Logs().find("re-attached to attempt 1"), std::string::npos) << Logs();
  EXPECT_TRUE(exec_fake_->started.empty()) << "nothing started again; `later` waits for its lane";
  ASSERT_TRUE(exec_fake_->Finish(running));
  Settle();
  EXPECT_EQ(Get(running).state, State::kSucceeded);
  ASSERT_EQ(exec_fake_->started.size(), 1u);
  EXPECT_EQ(exec_fake_->started[0].id, later);
}

TEST_F(RunnerTest, ShutdownLeavesAttemptsHandedOverButNotBegunPendingAtNoCost) {
  rules::Rule gate = MakeRule("gate", Lambda("Gate"));
  std::string id = Queue(gate, Record("k"));
  Settle();
  ASSERT_EQ(Get(id).state, State::kRunning);
  builtin_fake_->drain = {builtin_fake_->started[0].n};
  runner_->Shutdown();
  EXPECT_EQ(Get(id).state, State::kPending);
  EXPECT_EQ(Get(id).attempts, 0) << "an attempt that never began is not counted";
  auto attempts = runner_->queue().Attempts(id);
  ASSERT_TRUE(attempts.ok());
  EXPECT_TRUE(attempts->empty());
}

TEST_F(RunnerTest, OutputLinesAreLoggedWithTheirInvocationAttemptAndStream) {
  rules::Rule gate = MakeRule("gate", Lambda("Gate"));
  std::string id = Queue(gate, Record("k"));
  Settle();
  builtin_fake_->Print(id, 2, "warming up");
  Settle();
  EXPECT_NE(Logs().find("[" + id + "#1 stderr] warming up"), std::string::npos) << Logs();
}

TEST_F(RunnerTest, SuccessWritesALambdaShapedRecordAndFailureInvokesTheNotifier) {
  ASSERT_TRUE(store_->CreateBucket("notes").ok());
  Function ok = Builtin("Ok", "noop");
  ok.on_success = *ParseDestination("arn:aws:s3:::notes/success/");
  AddFunction(ok);
  Function bad = Builtin("Bad", "flaky");
  bad.on_failure = *ParseDestination(Lambda("Noop"));
  AddFunction(bad);
  runner_->SetFunctions(std::make_shared<FunctionSet>(functions_));
  builtin_fake_->On("Bad", [](const FakeExecutor::Started&) {
    return std::optional<FakeExecutor::End>(FakeExecutor::End{false, "flaky failure #1"});
  });
  std::string s = Queue(MakeRule("ok", Lambda("Ok")), Record("a"));
  rules::Rule failing = MakeRule("bad", Lambda("Bad"));
  failing.targets[0].maximum_retry_attempts = 0;
  std::string f = Queue(failing, Record("b"));
  Settle();
  ASSERT_EQ(Get(s).state, State::kSucceeded) << Logs();
  auto rec = nlohmann::json::parse(testing::ReadFile(tmp_ / "root/buckets/notes/success/Ok/" + s + ".success.json"));
  struct stat st;
  ASSERT_EQ(::stat((tmp_ / "root/buckets/notes/success/Ok/" + s + ".success.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0007, 0u) << "a destination record carries the input";
  EXPECT_EQ(rec["requestContext"]["requestId"], s);
  EXPECT_EQ(rec["requestContext"]["condition"], "Success");
  EXPECT_EQ(rec["requestPayload"], nlohmann::json::parse("{\"k\":1}"));
  ASSERT_EQ(Get(f).state, State::kDead) << Logs();
  auto all = runner_->queue().Find(RunQuery{});
  const Invocation* note = nullptr;
  for (const auto& v : *all) {
    if (v.origin == "destination") note = &v;
  }
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->state, State::kSucceeded);
  EXPECT_EQ(note->function, "Noop");
  EXPECT_EQ(note->chain, Get(f).chain);
  EXPECT_EQ(note->hop, Get(f).hop + 1);
  auto payload = nlohmann::json::parse(note->input);
  EXPECT_EQ(payload["requestContext"]["condition"], "RetriesExhausted");
  EXPECT_EQ(payload["responseContext"]["functionError"], "Unhandled");
  EXPECT_NE(payload["responsePayload"]["errorMessage"].get<std::string>().find("flaky failure #1"), std::string::npos);
}

// The built-in stage pool itself: real worker threads.
class BuiltinStageTest : public RunnerFixture {
 protected:
  BuiltinStageTest() { use_fake_clock_ = true; }
  void SetUp() override {
    RunnerFixture::SetUp();
    BuiltinRegistry b = DefaultBuiltins();
    b.Add("throws", [](StageContext&) -> Status { throw std::runtime_error("stat: Permission denied"); });
    b.Add("gate", [this](StageContext& ctx) {
      entered_ = true;
      while (!open_ && !*ctx.cancelled) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      return Status::OK();
    });
    AddFunction(Builtin("Throws", "throws"));
    AddFunction(Builtin("Gate", "gate"));
    AddFunction(Builtin("Noop", "noop"));
    MakeRunner(Options(), std::move(b));
  }
  std::atomic<bool> entered_{false}, open_{false};
};

TEST_F(BuiltinStageTest, AStageThatThrowsFailsItsAttemptAndOtherWorkRuns) {
  rules::Rule rule = MakeRule("r", Lambda("Throws"));
  rule.targets[0].maximum_retry_attempts = 0;
  std::string bad = Queue(rule, Record("k"));
  std::string good = Queue(MakeRule("ok", Lambda("Noop")), Record("k2"));
  ASSERT_TRUE(UntilState(bad, State::kDead)) << Logs();
  EXPECT_NE(Get(bad).error.find("the stage threw an exception: stat: Permission denied"), std::string::npos)
      << Get(bad).error;
  ASSERT_TRUE(UntilState(good, State::kSucceeded)) << Logs();
}

TEST_F(BuiltinStageTest, AStagePastItsDeadlineIsAskedToStopAndTimesOut) {
  rules::Rule rule = MakeRule("gate", Lambda("Gate"));  // Timeout 3 s
  rule.targets[0].maximum_retry_attempts = 0;
  std::string id = Queue(rule, Record("k"));
  ASSERT_TRUE(Until([&] { return entered_.load(); }));
  runner_->OnTick();
  EXPECT_EQ(Get(id).state, State::kRunning) << "cancelled before its deadline";
  clock_.Advance(3001 * kMs);
  ASSERT_TRUE(UntilState(id, State::kDead)) << Logs();
  EXPECT_NE(Get(id).error.find("timed out (function Timeout)"), std::string::npos) << Get(id).error;
}

TEST_F(BuiltinStageTest, ShutdownLetsAWorkingStageFinishBeforeItsDeadline) {
  rules::Rule gate = MakeRule("gate", Lambda("Gate"));  // Timeout 3 s
  std::string id = Queue(gate, Record("k"));
  // Until the stage itself runs (queued for a worker is not yet at work).
  ASSERT_TRUE(Until([&] { return entered_.load(); }));
  std::thread opener([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    open_ = true;
  });
  runner_->Shutdown();  // as on SIGTERM
  opener.join();
  EXPECT_EQ(Get(id).state, State::kSucceeded) << "the stage was stopped before its deadline\n" << Logs();
}

}  // namespace
}  // namespace bucketd::runner
