#include "common/time_format.h"

#include <cstdio>
#include <ctime>

namespace bucketd {

namespace {

struct tm UtcTm(int64_t unix_nanos) {
  time_t secs = static_cast<time_t>(unix_nanos / 1000000000LL);
  if (unix_nanos < 0 && unix_nanos % 1000000000LL != 0) --secs;
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  return tm_utc;
}

}  // namespace

std::string FormatRfc3339Millis(int64_t unix_nanos) {
  struct tm t = UtcTm(unix_nanos);
  int64_t ms = ((unix_nanos % 1000000000LL) + 1000000000LL) % 1000000000LL / 1000000;
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string FormatHttpDate(int64_t unix_nanos) {
  struct tm t = UtcTm(unix_nanos);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &t);
  return buf;
}

}  // namespace bucketd
