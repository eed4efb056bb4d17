// Proleptic Gregorian calendar arithmetic on day numbers (days since
// 1970-01-01), after Howard Hinnant's public-domain algorithms.
#ifndef BUCKETD_COMMON_CIVIL_TIME_H_
#define BUCKETD_COMMON_CIVIL_TIME_H_

#include <cstdint>

namespace bucketd {

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int* year, int* month, int* day);
// 0 = Sunday … 6 = Saturday.
int WeekdayOfDays(int64_t days);
int DaysInMonth(int year, int month);

}  // namespace bucketd

#endif  // BUCKETD_COMMON_CIVIL_TIME_H_
