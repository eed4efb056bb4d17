// Time zones from the system's tz database (TZif files in /usr/share/zoneinfo,
// or $TZDIR), for schedules with ScheduleExpressionTimezone.
//
// DST follows EventBridge Scheduler: a local time that does not exist (the
// hour skipped in spring) does not fire; a local time that happens twice (the
// hour repeated in autumn) fires once, at its first occurrence.
//
// Thread-safety: immutable once loaded.
#ifndef BUCKETD_RULES_TIME_ZONE_H_
#define BUCKETD_RULES_TIME_ZONE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/env.h"

namespace bucketd::rules {

class TimeZone {
 public:
  // InvalidArgument when the zone is unknown or its file is not TZif.
  static Result<TimeZone> Load(Env& env, const std::string& name);
  // Parses TZif bytes (exposed for tests).
  static Result<TimeZone> FromTzif(const std::string& name, std::string_view data);

  const std::string& name() const { return name_; }
  // Seconds east of UTC in force at `utc_s`.
  int32_t OffsetAt(int64_t utc_s) const;
  // The UTC instants whose wall-clock time here is `local_s` (seconds since
  // 1970-01-01 00:00 of the wall clock): none in a gap, two in an overlap,
  // earliest first.
  std::vector<int64_t> FromLocal(int64_t local_s) const;

 private:
  struct RuleDate {
    int month = 0, week = 0, weekday = 0;  // POSIX Mm.w.d
    int32_t time = 7200;                   // seconds after local midnight
  };
  int32_t RuleOffsetAt(int64_t utc_s) const;
  int64_t RuleTransition(int year, const RuleDate& d, int32_t offset_before) const;

  std::string name_;
  std::vector<int64_t> transitions_;  // UTC seconds, ascending
  std::vector<int32_t> offsets_;      // offset in force from each transition
  int32_t initial_offset_ = 0;
  // The footer rule for times after the last transition.
  bool has_rule_ = false;
  bool rule_has_dst_ = false;
  int32_t std_offset_ = 0, dst_offset_ = 0;
  RuleDate dst_start_, dst_end_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_TIME_ZONE_H_
