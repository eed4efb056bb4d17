// Schedule expressions: AWS's cron and rate rules, table-driven. Times are UTC.
#include <gtest/gtest.h>

#include "common/time_format.h"
#include "events/records.h"
#include "rules/schedule.h"

namespace bucketd::rules {
namespace {

}  // namespace

// The first n firings strictly after `after`, in zone (null: UTC); a rate
// schedule is anchored at `after`.
std::vector<std::string> Firings(const std::string& expr, std::shared_ptr<const TimeZone> zone,
                                 const std::string& after, int n) {
  auto s = ParseSchedule(expr);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return {};
  s->zone = std::move(zone);
  int64_t t = *ParseTimeSpec(after, 0);
  int64_t anchor = t;
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    auto next = NextFiring(*s, t, anchor);
    if (!next) break;
    out.push_back(events::Rfc3339Seconds(*next));
    t = *next;
  }
  return out;
}

namespace {

std::vector<std::string> Next(const std::string& expr, const std::string& after, int n) {
  return Firings(expr, nullptr, after, n);
}

struct CronCase {
  const char* name;
  const char* expr;
  const char* after;
  std::vector<std::string> expected;
};

const CronCase kCronCases[] = {
    {"EveryDayAtNoon", "cron(0 12 * * ? *)", "2026-01-01T12:00:00Z",
     {"2026-01-02T12:00:00Z", "2026-01-03T12:00:00Z"}},
    {"StrictlyAfter", "cron(0 12 * * ? *)", "2026-01-01T11:59:59Z", {"2026-01-01T12:00:00Z"}},
    {"MinuteStepsFromZero", "cron(0/15 * * * ? *)", "2026-01-01T00:00:00Z",
     {"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"}},
    {"StarStep", "cron(*/20 0 * * ? *)", "2026-01-01T00:00:00Z",
     {"2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z", "2026-01-02T00:00:00Z"}},
    {"WeekdaysByNameAndRange", "cron(0/30 8-9 ? * MON-FRI *)", "2026-01-02T09:30:00Z",  // a Friday
     {"2026-01-05T08:00:00Z", "2026-01-05T08:30:00Z", "2026-01-05T09:00:00Z"}},
    {"ListOfDays", "cron(0 0 1,15 * ? *)", "2026-01-01T00:00:00Z",
     {"2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z"}},
    {"MonthNames", "cron(0 0 1 JAN,JUL ? *)", "2026-01-01T00:00:00Z",
     {"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
    {"LastDayOfMonthLeapYear", "cron(0 0 L * ? *)", "2024-01-31T00:00:00Z",
     {"2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z"}},
    {"LastDayOfFebruaryCommonYear", "cron(0 0 L 2 ? *)", "2025-01-01T00:00:00Z",
     {"2025-02-28T00:00:00Z", "2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z", "2028-02-29T00:00:00Z"}},
    {"Day31SkipsShortMonths", "cron(0 0 31 * ? *)", "2026-01-31T00:00:00Z",
     {"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"}},
    {"Feb29OnlyInLeapYears", "cron(0 0 29 2 ? *)", "2025-01-01T00:00:00Z", {"2028-02-29T00:00:00Z"}},
    {"LastWeekdayOfMonth", "cron(0 0 LW * ? *)", "2026-01-01T00:00:00Z",  // 2026-01-31 is a Saturday
     {"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z"}},
    {"NearestWeekdayToThe15th", "cron(0 0 15W * ? *)", "2026-03-01T00:00:00Z",  // 2026-03-15 is a Sunday
     {"2026-03-16T00:00:00Z", "2026-04-15T00:00:00Z"}},
    {"NearestWeekdayDoesNotLeaveTheMonth", "cron(0 0 1W * ? *)", "2026-07-31T00:00:00Z",  // 2026-08-01 Saturday
     {"2026-08-03T00:00:00Z"}},
    {"LastFridayOfMonth", "cron(0 10 ? * 6L *)", "2026-01-01T00:00:00Z",
     {"2026-01-30T10:00:00Z", "2026-02-27T10:00:00Z"}},
    {"SecondTuesday", "cron(0 9 ? * 3#2 *)", "2026-01-01T00:00:00Z",
     {"2026-01-13T09:00:00Z", "2026-02-10T09:00:00Z"}},
    {"FifthMondayOnlyWhenThereIsOne", "cron(0 9 ? * MON#5 *)", "2026-01-01T00:00:00Z",
     {"2026-03-30T09:00:00Z", "2026-06-29T09:00:00Z"}},
    {"LAloneInDayOfWeekIsSaturday", "cron(0 0 ? * L *)", "2026-01-01T00:00:00Z", {"2026-01-03T00:00:00Z"}},
    {"YearRange", "cron(0 0 1 1 ? 2027-2028)", "2026-06-01T00:00:00Z",
     {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
    {"YearRangeInThePastHasNoFirings", "cron(0 0 1 1 ? 2019-2020)", "2026-01-01T00:00:00Z", {}},
    {"MonthlySeedFetch", "cron(0 6 2 * ? *)", "2026-11-22T00:00:00Z",
     {"2026-12-02T06:00:00Z", "2027-01-02T06:00:00Z"}},
    {"RateMinutes", "rate(5 minutes)", "2026-01-01T00:00:00Z", {"2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z"}},
    {"RateOneDay", "rate(1 day)", "2026-01-01T10:00:00Z", {"2026-01-02T10:00:00Z"}},
    {"RateHours", "rate(2 hours)", "2026-01-01T00:00:00Z", {"2026-01-01T02:00:00Z", "2026-01-01T04:00:00Z"}},
};

class CronTest : public ::testing::TestWithParam<CronCase> {};

TEST_P(CronTest, NextFirings) {
  const CronCase& c = GetParam();
  EXPECT_EQ(Next(c.expr, c.after, static_cast<int>(std::max<size_t>(c.expected.size(), 1))), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Aws, CronTest, ::testing::ValuesIn(kCronCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ScheduleTest, InvalidExpressionsNameTheFieldAndTheRule) {
  struct Bad {
    const char* expr;
    const char* says;
  } bad[] = {
      {"cron(0 12 * * * *)", "exactly one of Day-of-month and Day-of-week"},
      {"cron(0 12 ? * ? *)", "exactly one of Day-of-month and Day-of-week"},
      {"cron(0 12 * * ?)", "cron takes 6 fields"},
      {"cron(60 12 * * ? *)", "Minutes field '60'"},
      {"cron(0 24 * * ? *)", "Hours field"},
      {"cron(0 0 32 * ? *)", "Day-of-month field"},
      {"cron(0 0 ? FOO * *)", "Month field 'FOO'"},
      {"cron(0 0 ? * MON#6 *)", "#1 to #5"},
      {"cron(0 0 1 * ? 2300)", "Year field"},
      {"cron(0/0 * * * ? *)", "positive step"},
      {"cron(5-1 * * * ? *)", "backwards"},
      {"rate(0 minutes)", "positive whole number"},
      {"rate(1 minutes)", "use 'minute' with 1"},
      {"rate(5 minute)", "use 'minutes' with 5"},
      {"rate(5 weeks)", "minute|minutes"},
      {"every 5 minutes", "expected rate(...) or cron(...)"},
  };
  for (const auto& b : bad) {
    auto s = ParseSchedule(b.expr);
    ASSERT_FALSE(s.ok()) << b.expr;
    EXPECT_NE(s.status().message().find(b.says), std::string::npos) << s.status().message();
    EXPECT_NE(s.status().message().find(b.expr), std::string::npos);
  }
}

}  // namespace
}  // namespace bucketd::rules

namespace bucketd::rules {
namespace {

std::shared_ptr<const TimeZone> Zone(const char* name) {
  auto z = TimeZone::Load(Env::Default(), name);
  EXPECT_TRUE(z.ok()) << z.status().ToString();
  return std::make_shared<const TimeZone>(std::move(z).value());
}

std::vector<std::string> NextIn(const char* expr, const char* zone, const char* after, int n) {
  return Firings(expr, Zone(zone), after, n);
}

// EventBridge Scheduler: "When the time shifts forward in Spring, your schedule
// invocation gets skipped if the cron expression falls on a non-existent date
// and time. When the time shifts back in the Fall, your schedule runs only once."
TEST(TimeZoneScheduleTest, SpringForwardSkipsTheLocalTimeThatDoesNotExist) {
  // Europe/London, 2026-03-29: 01:00 GMT jumps to 02:00 BST.
  EXPECT_EQ(NextIn("cron(30 1 * * ? *)", "Europe/London", "2026-03-27T12:00:00Z", 3),
            (std::vector<std::string>{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}));
}

TEST(TimeZoneScheduleTest, FallBackRunsTheRepeatedLocalTimeOnce) {
  // Europe/London, 2026-10-25: 02:00 BST goes back to 01:00 GMT; 01:30 happens twice.
  EXPECT_EQ(NextIn("cron(30 1 * * ? *)", "Europe/London", "2026-10-24T12:00:00Z", 2),
            (std::vector<std::string>{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
  EXPECT_EQ(NextIn("cron(30 1 * * ? *)", "Europe/London", "2026-10-25T00:30:00Z", 1),
            (std::vector<std::string>{"2026-10-26T01:30:00Z"}));  // not again at 01:30 GMT
}

TEST(TimeZoneScheduleTest, LocalTimeFollowsDstAcrossTheChange) {
  // America/New_York switches to EDT on 2026-03-08.
  EXPECT_EQ(NextIn("cron(0 8 ? * MON *)", "America/New_York", "2026-03-01T00:00:00Z", 2),
            (std::vector<std::string>{"2026-03-02T13:00:00Z", "2026-03-09T12:00:00Z"}));
}

TEST(TimeZoneScheduleTest, YearsBeyondTheTableUseTheZonesRule) {
  // TZif tables end in 2037; later years come from the POSIX rule in the footer.
  EXPECT_EQ(NextIn("cron(0 12 1 7 ? 2050)", "Europe/London", "2049-01-01T00:00:00Z", 1),
            (std::vector<std::string>{"2050-07-01T11:00:00Z"}));
  EXPECT_EQ(NextIn("cron(0 12 1 12 ? 2050)", "Europe/London", "2049-01-01T00:00:00Z", 1),
            (std::vector<std::string>{"2050-12-01T12:00:00Z"}));
}

TEST(TimeZoneScheduleTest, RateIgnoresTheZone) {
  EXPECT_EQ(NextIn("rate(1 day)", "Europe/London", "2026-03-28T12:00:00Z", 2),
            (std::vector<std::string>{"2026-03-29T12:00:00Z", "2026-03-30T12:00:00Z"}));
}

TEST(TimeZoneScheduleTest, UnknownZoneAndTraversalAreRefused) {
  EXPECT_FALSE(TimeZone::Load(Env::Default(), "Mars/Base").ok());
  EXPECT_FALSE(TimeZone::Load(Env::Default(), "../../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::FromTzif("x", "not a tzif file at all, clearly not one").ok());
}

}  // namespace
}  // namespace bucketd::rules
