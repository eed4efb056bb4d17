// Schedule expressions as EventBridge writes them: rate(value unit) and
// cron(Minutes Hours Day-of-month Month Day-of-week Year), evaluated in UTC.
//
// cron fields are read in UTC, or in the schedule's time zone when one is
// set (EventBridge Scheduler's ScheduleExpressionTimezone; see time_zone.h
// for DST). rate() counts fixed durations and ignores the zone.
//
// cron follows AWS's rules: one of the two day fields must be '?'; fields
// take lists (,), ranges (-), steps (/), '*'; months JAN-DEC and weekdays
// SUN-SAT (1 = SUN … 7 = SAT); Day-of-month takes L (last day), LW (last
// weekday) and nW (weekday nearest day n, within the month); Day-of-week
// takes L (Saturday), nL (last weekday n of the month) and n#k (k-th weekday
// n of the month); years 1970-2199.
//
// Thread-safety: immutable values.
#ifndef BUCKETD_RULES_SCHEDULE_H_
#define BUCKETD_RULES_SCHEDULE_H_

#include <bitset>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rules/time_zone.h"

namespace bucketd::rules {

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<13> months;  // 1..12
  std::vector<int> years;  // sorted; all of 1970..2199 for '*'
  bool dom_any = false;    // '?' or '*' in Day-of-month: days come from Day-of-week
  std::bitset<32> days;    // 1..31
  bool last_day = false;   // L
  bool last_weekday = false;  // LW
  std::vector<int> nearest_weekday;  // nW
  bool dow_any = false;
  std::bitset<7> weekdays;           // 0 = Sunday
  std::vector<int> last_of_weekday;  // nL, 0 = Sunday
  std::vector<std::pair<int, int>> nth_weekday;  // (weekday, k) for n#k
};

struct Schedule {
  enum class Kind { kRate, kCron };
  Kind kind = Kind::kRate;
  int64_t rate_seconds = 0;
  CronSpec cron;
  std::string expression;
  std::shared_ptr<const TimeZone> zone;  // null: UTC
};

// InvalidArgument names the expression, the field and what was expected.
Result<Schedule> ParseSchedule(std::string_view expression);

// The first firing strictly after `after_ns` (Unix nanoseconds, UTC), or
// nullopt when the schedule has no firing left (a year range in the past).
// A rate schedule fires every period counted from `anchor_ns` (its creation).
std::optional<int64_t> NextFiring(const Schedule& s, int64_t after_ns, int64_t anchor_ns);

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_SCHEDULE_H_
