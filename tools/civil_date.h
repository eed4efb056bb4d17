// Calendar arithmetic for the generator: days since 1970-01-01 and month
// indexes (year * 12 + month - 1), in the proleptic Gregorian calendar.
#ifndef BUCKETD_TOOLS_CIVIL_DATE_H_
#define BUCKETD_TOOLS_CIVIL_DATE_H_

#include <cstdint>
#include <string>

#include "common/civil_time.h"

namespace bucketd::tools {

// DaysFromCivil and CivilFromDays are common/civil_time.h's.

inline int MonthIndex(int year, int month) { return year * 12 + month - 1; }
inline int64_t FirstDayOfMonth(int month_index) {
  return DaysFromCivil(month_index / 12, static_cast<unsigned>(month_index % 12 + 1), 1);
}
inline int64_t LastDayOfMonth(int month_index) { return FirstDayOfMonth(month_index + 1) - 1; }
int MonthOfDay(int64_t days);

std::string FormatDate(int64_t days);          // YYYY-MM-DD
std::string FormatMonthStamp(int month_index);  // YYYYMM01

}  // namespace bucketd::tools

#endif  // BUCKETD_TOOLS_CIVIL_DATE_H_
