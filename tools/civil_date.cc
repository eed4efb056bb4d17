#include "tools/civil_date.h"

#include <cstdio>

namespace bucketd::tools {

int MonthOfDay(int64_t days) {
  int y, m, d;
  CivilFromDays(days, &y, &m, &d);
  return MonthIndex(y, m);
}

std::string FormatDate(int64_t days) {
  int y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

std::string FormatMonthStamp(int month_index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02d01", month_index / 12, month_index % 12 + 1);
  return buf;
}

}  // namespace bucketd::tools
