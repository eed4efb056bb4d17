// The runner's Plan on its own: lanes, worker slots, reserved concurrency,
// retries with backoff, attempts that never started, permanent errors,
// redrive. A FakeClock and no threads, processes, files or sleeps.
#include "runner/plan.h"

#include <gtest/gtest.h>

#include "tests/fake_clock.h"

namespace bucketd::runner {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1'800'000'000 * kSecond;

class PlanTest : public ::testing::Test {
 public:  // the table-driven steps call these
  PlanTest() {
    PlanOptions o;
    o.workers = 2;
    o.retry_base_ns = kSecond;
    o.retry_max_ns = 8 * kSecond;
    o.jitter = [] { return 0.0; };  // delays are exactly half the doubling
    plan_ = std::make_unique<Plan>(clock_, o);
    auto fns = std::make_shared<FunctionSet>();
    for (const char* name : {"F", "G"}) {
      Function f;
      f.name = name;
      f.runtime = Runtime::kExec;
      (*fns)[name] = f;
    }
    (*fns)["G"].reserved_concurrency = 1;
    plan_->SetFunctions(fns);
  }
  // An invocation of function `fn` for `key` (its lane), queued as n.
  Invocation Make(int64_t n, const std::string& key, const std::string& fn = "F", int retries = 2) {
    Invocation v;
    v.n = n;
    v.id = "id" + std::to_string(n);
    v.rule = "r";
    v.target = "t";
    v.function = fn;
    v.bucket = "b";
    v.key = key;
    v.max_retries = retries;
    v.created_ns = v.age_base_ns = clock_.NowNanos();
    return v;
  }
  // The numbers TakeReady starts (dead ones as -n).
  std::vector<int64_t> Take() {
    std::vector<int64_t> out;
    for (const auto& d : plan_->TakeReady()) out.push_back(d.function ? d.n : -d.n);
    return out;
  }
  Verdict End(int64_t n, bool ok, bool not_started = false) {
    return plan_->Finish(n, AttemptEnd{ok, not_started, ok ? "" : "exit status 1", clock_.NowNanos()});
  }

  testing::FakeClock clock_{kStart};
  std::unique_ptr<Plan> plan_;
};

TEST_F(PlanTest, LanesStartInQueueOrderOneAtATimeAndWorkersCapTheRest) {
  struct Step {
    const char* what;
    std::function<void(PlanTest*)> act;
    std::vector<int64_t> starts;  // what TakeReady starts after the action
  };
  const std::vector<Step> steps = {
      {"queue 1,2 on lane a and 3,4 on b,c", [](PlanTest* t) {
         for (auto [n, k] : std::vector<std::pair<int, const char*>>{{1, "a"}, {2, "a"}, {3, "b"}, {4, "c"}}) {
           t->plan_->Admit(t->Make(n, k));
         }
       }, {1, 3}},  // 2 waits for 1 (same lane); 4 waits for a worker
      {"nothing more while both workers are busy", [](PlanTest*) {}, {}},
      {"1 succeeds: its lane's 2 is next in line, but 4 was first", [](PlanTest* t) {
         EXPECT_EQ(t->End(1, true).kind, Verdict::Kind::kSucceeded);
       }, {2}},
      {"3 succeeds", [](PlanTest* t) { t->End(3, true); }, {4}},
      {"all done", [](PlanTest* t) { t->End(2, true); t->End(4, true); }, {}},
  };
  for (const auto& s : steps) {
    s.act(this);
    std::vector<int64_t> got = Take();
    std::sort(got.begin(), got.end());
    std::vector<int64_t> want = s.starts;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want) << s.what;
  }
  EXPECT_EQ(plan_->running(), 0u);
  EXPECT_EQ(plan_->queued(), 0u);
  EXPECT_TRUE(plan_->active().empty());
}

TEST_F(PlanTest, ReservedConcurrencyHoldsBackOnlyItsOwnFunction) {
  plan_->Admit(Make(1, "a", "G"));
  plan_->Admit(Make(2, "b", "G"));
  plan_->Admit(Make(3, "c", "F"));
  EXPECT_EQ(Take(), (std::vector<int64_t>{1, 3}));
  End(3, true);
  EXPECT_EQ(Take(), std::vector<int64_t>{}) << "G is at its reserved concurrency of 1";
  End(1, true);
  EXPECT_EQ(Take(), std::vector<int64_t>{2});
}

// Lane heads of a function at its limit wait out of the scan for ready
// ones, and come back in their order, one per place freed; a cancel and a
// new limit reach them there.
TEST_F(PlanTest, HeldLaneHeadsStartInOrderAsPlacesFreeAndACancelOrANewLimitReachesThem) {
  for (int n = 1; n <= 5; ++n) plan_->Admit(Make(n, "k" + std::to_string(n), "G"));
  plan_->Admit(Make(6, "f", "F"));
  EXPECT_EQ(Take(), (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(Take(), std::vector<int64_t>{});
  End(6, true);
  EXPECT_EQ(Take(), std::vector<int64_t>{}) << "a free worker does not free G's place";
  EXPECT_TRUE(plan_->Cancel(3, "cancelled while held"));
  End(1, true);
  EXPECT_EQ(Take(), std::vector<int64_t>{2});
  End(2, true);
  EXPECT_EQ(Take(), std::vector<int64_t>{4}) << "3 was cancelled while held";
  auto fns = std::make_shared<FunctionSet>();
  for (const char* name : {"F", "G"}) {
    Function f;
    f.name = name;
    (*fns)[name] = f;
  }
  (*fns)["G"].reserved_concurrency = 3;
  plan_->SetFunctions(fns);
  EXPECT_EQ(Take(), std::vector<int64_t>{5}) << "a larger limit lets the held one start";
  End(4, true);
  End(5, true);
  EXPECT_EQ(plan_->queued(), 0u);
  EXPECT_TRUE(plan_->active().empty());
}

TEST_F(PlanTest, FailedAttemptsAreRetriedAfterADoublingBackoffThenDie) {
  plan_->Admit(Make(1, "a", "F", /*retries=*/2));
  struct Want {
    Verdict::Kind kind;
    int64_t delay_ns;
  };
  const std::vector<Want> wants = {
      {Verdict::Kind::kRetry, kSecond / 2},  // retry 1: half of 1 s (jitter 0)
      {Verdict::Kind::kRetry, kSecond},      // retry 2: half of 2 s
      {Verdict::Kind::kDead, 0},             // out of retries
  };
  for (size_t i = 0; i < wants.size(); ++i) {
    ASSERT_EQ(Take(), std::vector<int64_t>{1}) << "attempt " << i + 1;
    EXPECT_EQ(plan_->Get(1).attempts, static_cast<int>(i + 1));
    Verdict v = End(1, false);
    EXPECT_EQ(v.kind, wants[i].kind) << "attempt " << i + 1;
    EXPECT_EQ(v.delay_ns, wants[i].delay_ns) << "attempt " << i + 1;
    if (v.kind == Verdict::Kind::kRetry) {
      clock_.Advance(v.delay_ns - 1);
      EXPECT_EQ(Take(), std::vector<int64_t>{}) << "not before its backoff";
      clock_.Advance(1);
    } else {
      EXPECT_NE(v.error.find("exit status 1 (3 attempts); no retries left (MaximumRetryAttempts 2)"),
                std::string::npos)
          << v.error;
    }
  }
  EXPECT_FALSE(plan_->Has(1));
  auto dirty = plan_->TakeDirty();
  ASSERT_EQ(dirty.count(1), 1u);
  EXPECT_EQ(dirty[1].state, State::kDead);
  EXPECT_EQ(dirty[1].attempts, 3);
}

TEST_F(PlanTest, AnAttemptThatNeverReachedItsTargetCostsNoRetry) {
  plan_->Admit(Make(1, "a", "F", /*retries=*/0));
  ASSERT_EQ(Take(), std::vector<int64_t>{1});
  EXPECT_EQ(End(1, false, /*not_started=*/true).kind, Verdict::Kind::kRequeued);
  ASSERT_EQ(Take(), std::vector<int64_t>{1}) << "queued again at once";
  EXPECT_EQ(plan_->Get(1).attempts, 2);
  EXPECT_EQ(End(1, true).kind, Verdict::Kind::kSucceeded) << "with MaximumRetryAttempts 0, it still got its try";
}

TEST_F(PlanTest, UnstartGivesTheAttemptBackAndForgetDropsARolledBackRow) {
  plan_->Admit(Make(1, "a"));
  plan_->Admit(Make(2, "a"));
  ASSERT_EQ(Take(), std::vector<int64_t>{1});
  plan_->Unstart(1);
  EXPECT_EQ(plan_->Get(1).attempts, 0);
  EXPECT_EQ(plan_->Get(1).state, State::kPending);
  ASSERT_EQ(Take(), std::vector<int64_t>{1}) << "still first in its lane";
  plan_->Forget(1);
  EXPECT_FALSE(plan_->Has(1));
  EXPECT_EQ(plan_->running(), 0u);
  plan_->Forget(2);
  EXPECT_EQ(plan_->queued(), 0u);
  EXPECT_EQ(Take(), std::vector<int64_t>{});
}

TEST_F(PlanTest, PermanentErrorsKillAtOnceAndLetTheLaneGoOn) {
  struct Case {
    const char* what;
    std::function<void(Invocation&)> spoil;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"no function", [](Invocation& v) { v.function = "Nope"; }, "no function named 'Nope'"},
      {"no local function", [](Invocation& v) { v.function.clear(); v.arn = "arn:aws:sqs:x"; },
       "which names no local function"},
      {"bad input", [](Invocation& v) { v.input_error = "InputPath $.x: no such field"; },
       "the target's input could not be built: InputPath $.x"},
      {"loop", [](Invocation& v) { v.hop = 17; v.chain = "c1"; }, "recursive loop stopped: this would be invocation 17"},
      {"too old", [](Invocation& v) { v.max_age_seconds = 60; v.age_base_ns -= 61 * kSecond; },
       "older than its MaximumEventAgeInSeconds (60 s)"},
  };
  int64_t n = 0;
  for (const auto& c : cases) {
    Invocation bad = Make(++n, "lane");
    c.spoil(bad);
    plan_->Admit(bad);
    plan_->Admit(Make(++n, "lane"));
    auto decisions = plan_->TakeReady();
    ASSERT_EQ(decisions.size(), 2u) << c.what;
    EXPECT_EQ(decisions[0].function, nullptr) << c.what;
    EXPECT_EQ(decisions[0].dead.state, State::kDead) << c.what;
    EXPECT_NE(decisions[0].dead.error.find(c.error), std::string::npos) << c.what << ": " << decisions[0].dead.error;
    EXPECT_EQ(decisions[1].n, n) << c.what << ": the lane's next one starts";
    End(n, true);
  }
  EXPECT_TRUE(plan_->active().empty());
}

TEST_F(PlanTest, ARedrivenInvocationGetsAFreshRetryBudget) {
  plan_->Admit(Make(1, "a", "F", /*retries=*/0));
  ASSERT_EQ(Take(), std::vector<int64_t>{1});
  ASSERT_EQ(End(1, false).kind, Verdict::Kind::kDead);
  Invocation dead = plan_->TakeDirty()[1];
  plan_->Redrive(dead);
  EXPECT_EQ(plan_->Get(1).state, State::kPending);
  ASSERT_EQ(Take(), std::vector<int64_t>{1});
  EXPECT_EQ(plan_->Get(1).attempts, 2);
  EXPECT_EQ(End(1, false).kind, Verdict::Kind::kDead) << "one attempt per budget of 0 retries";
}

TEST_F(PlanTest, WhatCouldNotBeSavedIsKeptButANewerChangeWins) {
  plan_->Admit(Make(1, "a"));
  ASSERT_EQ(Take(), std::vector<int64_t>{1});
  auto unsaved = plan_->TakeDirty();
  ASSERT_EQ(unsaved[1].state, State::kRunning);
  End(1, true);
  plan_->KeepDirty(std::move(unsaved));
  auto dirty = plan_->TakeDirty();
  EXPECT_EQ(dirty[1].state, State::kSucceeded);
}

TEST_F(PlanTest, RecoveredRunningAttemptsHoldTheirLaneAndTheirSlot) {
  Invocation running = Make(1, "a");
  running.attempts = 1;
  plan_->AdoptRunning(running);
  plan_->Admit(Make(2, "a"));
  plan_->Admit(Make(3, "b"));
  plan_->Admit(Make(4, "c"));
  EXPECT_EQ(Take(), std::vector<int64_t>{3}) << "one slot left; lane a is busy";
  EXPECT_EQ(End(1, true).kind, Verdict::Kind::kSucceeded);
  EXPECT_EQ(Take(), std::vector<int64_t>{2});
  EXPECT_TRUE(plan_->AtWorkerLimit());
  EXPECT_LE(plan_->NextReadyNs(), kStart) << "4 is due, and waits for a slot";
}

}  // namespace
}  // namespace bucketd::runner
