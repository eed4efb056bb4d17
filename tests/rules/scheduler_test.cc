// Schedules firing: Scheduled Event shape, once per due slot, missed firings
// run once at start (Persistent), state kept across restarts. Injected clock.
#include "rules/scheduler.h"

#include <gtest/gtest.h>

#include "common/time_format.h"
#include "tests/fake_clock.h"
#include "tests/test_util.h"

namespace bucketd::rules {
namespace {

std::shared_ptr<const RuleSet> Rules(const char* text) {
  auto r = ParseRuleFile(text, "s.json");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::make_shared<const RuleSet>(*r);
}

int64_t At(const char* t) { return *ParseTimeSpec(t, 0); }

constexpr char kDaily[] = R"J({"Name": "daily-fetch", "ScheduleExpression": "cron(0 6 * * ? *)",
  "Targets": [{"Id": "f", "Arn": "arn:aws:lambda:eu-west-2:123456789012:function:fetch"}]})J";

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = std::move(SqliteDb::Open(tmp_ / "state.db", false)).value(); }
  std::unique_ptr<Scheduler> Make(bool persistent, const std::string& legacy = "") {
    auto s = std::make_unique<Scheduler>(env_, *db_, events::TrailIdentity{"123456789012", "eu-west-2"}, persistent);
    Status loaded = s->Load(legacy);
    EXPECT_TRUE(loaded.ok()) << loaded.ToString();
    return s;
  }
  static std::vector<std::string> Names(const std::vector<Firing>& due) {
    std::vector<std::string> out;
    for (const auto& f : due) out.push_back(f.rule->name + "@" + f.event["time"].get<std::string>());
    return out;
  }
  // Takes what is due as the daemon's unit of work does: recorded in a
  // transaction that commits.
  std::vector<std::string> Due(Scheduler& s) {
    auto due = s.Due();
    auto txn = Transaction::Begin(*db_);
    EXPECT_TRUE(txn.ok());
    EXPECT_TRUE(s.Record(*txn, due).ok());
    EXPECT_TRUE(txn->Commit().ok());
    s.Fired(due);
    return Names(due);
  }
  testing::TempDir tmp_;
  std::unique_ptr<SqliteDb> db_;
  testing::FakeClock clock_{At("2026-01-01T05:00:00Z")};
  Env env_{Env::Default().fs(), clock_};
};

TEST_F(SchedulerTest, FiresAScheduledEventInAwsShapeAtEachSlot) {
  auto s = Make(true);
  ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
  EXPECT_TRUE(Due(*s).empty());
  EXPECT_EQ(s->NanosUntilNext(), 3600LL * 1'000'000'000);
  clock_.Set(At("2026-01-01T06:00:00Z"));
  auto due = s->Due();
  ASSERT_EQ(due.size(), 1u);
  const auto& ev = due[0].event;
  EXPECT_EQ(ev["source"], "aws.events");
  EXPECT_EQ(ev["detail-type"], "Scheduled Event");
  EXPECT_EQ(ev["time"], "2026-01-01T06:00:00Z");
  EXPECT_EQ(ev["resources"][0], "arn:aws:events:eu-west-2:123456789012:rule/daily-fetch");
  EXPECT_EQ(ev["detail"], nlohmann::json::object());
  EXPECT_EQ(Due(*s).size(), 1u);  // recorded as fired
  EXPECT_TRUE(Due(*s).empty());  // not twice for one slot
  clock_.Set(At("2026-01-02T06:00:30Z"));
  EXPECT_EQ(Due(*s), std::vector<std::string>{"daily-fetch@2026-01-02T06:00:00Z"});
}

TEST_F(SchedulerTest, MissedFiringsWhileDownRunOnceAtStartWhenPersistent) {
  {
    auto s = Make(true);
    ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
    clock_.Set(At("2026-01-01T06:00:00Z"));
    EXPECT_EQ(Due(*s).size(), 1u);
  }
  clock_.Set(At("2026-01-05T12:00:00Z"));  // down for four slots
  auto s = Make(true);
  ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
  EXPECT_EQ(Due(*s), std::vector<std::string>{"daily-fetch@2026-01-02T06:00:00Z"});  // once, not four times
  EXPECT_TRUE(Due(*s).empty());
  clock_.Set(At("2026-01-06T06:00:00Z"));
  EXPECT_EQ(Due(*s).size(), 1u);
}

TEST_F(SchedulerTest, MissedFiringsAreSkippedWhenNotPersistent) {
  {
    auto s = Make(false);
    ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
    clock_.Set(At("2026-01-01T06:00:00Z"));
    EXPECT_EQ(Due(*s).size(), 1u);
  }
  clock_.Set(At("2026-01-05T12:00:00Z"));
  auto s = Make(false);
  ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
  EXPECT_TRUE(Due(*s).empty());
  clock_.Set(At("2026-01-06T06:00:00Z"));
  EXPECT_EQ(Due(*s), std::vector<std::string>{"daily-fetch@2026-01-06T06:00:00Z"});
}

TEST_F(SchedulerTest, RateCountsFromTheRulesFirstSightingAcrossRestarts) {
  const char* rate = R"J({"Name": "every-5", "ScheduleExpression": "rate(5 minutes)"})J";
  {
    auto s = Make(true);
    ASSERT_TRUE(s->SetRules(Rules(rate)).ok());  // anchored at 05:00
    clock_.Set(At("2026-01-01T05:05:00Z"));
    EXPECT_EQ(Due(*s), std::vector<std::string>{"every-5@2026-01-01T05:05:00Z"});
  }
  clock_.Set(At("2026-01-01T05:07:00Z"));
  auto s = Make(true);
  ASSERT_TRUE(s->SetRules(Rules(rate)).ok());
  EXPECT_TRUE(Due(*s).empty());
  EXPECT_EQ(s->NanosUntilNext(), 180LL * 1'000'000'000);  // 05:10, still on the 05:00 grid
}

// Issue 12, item 1: the firing used to be saved before its invocations were
// committed, so a crash or a failed commit in between lost it for good.
TEST_F(SchedulerTest, AFiringWhoseTransactionDoesNotCommitIsStillDueAfterARestart) {
  {
    auto s = Make(true);
    ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
    clock_.Set(At("2026-01-01T06:00:00Z"));
    auto due = s->Due();
    ASSERT_EQ(due.size(), 1u);
    auto txn = Transaction::Begin(*db_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(s->Record(*txn, due).ok());
    // bucketd dies here, or the commit fails (disk full): the transaction
    // rolls back and Fired is never called.
  }
  clock_.Set(At("2026-01-01T06:00:05Z"));
  auto s = Make(true);
  ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
  EXPECT_EQ(Due(*s), std::vector<std::string>{"daily-fetch@2026-01-01T06:00:00Z"});
  EXPECT_TRUE(Due(*s).empty());
}

TEST_F(SchedulerTest, UntilItsTransactionCommitsAFiringStaysDueInTheSameProcess) {
  auto s = Make(true);
  ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
  clock_.Set(At("2026-01-01T06:00:00Z"));
  auto due = s->Due();
  {
    auto txn = Transaction::Begin(*db_);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(s->Record(*txn, due).ok());
    txn->Rollback();
  }
  EXPECT_EQ(Names(s->Due()), std::vector<std::string>{"daily-fetch@2026-01-01T06:00:00Z"});
  EXPECT_EQ(s->NanosUntilNext(), 0);
}

TEST_F(SchedulerTest, TheStateFileOfAnEarlierBucketdIsTakenOverOnce) {
  std::string legacy = tmp_ / "schedules.json";
  testing::WriteFile(legacy, R"J({"version":1,"rules":{"daily-fetch":{"anchor_ns":)J" +
                                 std::to_string(At("2025-12-01T00:00:00Z")) + R"J(,"last_ns":)J" +
                                 std::to_string(At("2026-01-01T06:00:00Z")) + "}}}");
  clock_.Set(At("2026-01-01T07:00:00Z"));
  {
    auto s = Make(true, legacy);
    ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
    EXPECT_TRUE(Due(*s).empty()) << "today's 06:00 firing already ran under the old state file";
  }
  EXPECT_FALSE(testing::Exists(legacy));
  clock_.Set(At("2026-01-02T06:00:00Z"));
  auto s = Make(true, legacy);
  ASSERT_TRUE(s->SetRules(Rules(kDaily)).ok());
  EXPECT_EQ(Due(*s).size(), 1u);
}

TEST_F(SchedulerTest, DisabledSchedulesDoNotFire) {
  auto s = Make(true);
  ASSERT_TRUE(s->SetRules(Rules(R"J({"Name": "off", "State": "DISABLED", "ScheduleExpression": "rate(1 minute)"})J")).ok());
  clock_.Advance(3600LL * 1'000'000'000);
  EXPECT_TRUE(Due(*s).empty());
}

}  // namespace
}  // namespace bucketd::rules
