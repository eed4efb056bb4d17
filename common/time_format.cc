#include "common/time_format.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
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

std::string FormatUtc(int64_t unix_nanos, const char* format) {
  time_t secs = static_cast<time_t>(unix_nanos / 1'000'000'000);
  struct tm t;
  gmtime_r(&secs, &t);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), format, &t);
  return std::string(buf, n);
}

Result<int64_t> ParseHttpDate(std::string_view text) {
  std::string s(text);
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    struct tm t {};
    const char* rest = strptime(s.c_str(), format, &t);
    if (rest != nullptr && *rest == '\0') return static_cast<int64_t>(timegm(&t)) * 1'000'000'000LL;
  }
  return Status::InvalidArgument("'" + s.substr(0, 64) + "' is no HTTP date (expected e.g. 'Sun, 22 Nov 2026 09:26:10 GMT')");
}

Result<int64_t> ParseTimeSpec(std::string_view spec, int64_t now_ns) {
  auto bad = Status::InvalidArgument("invalid time '" + std::string(spec) +
                                     "': expected RFC 3339 (2026-11-22T09:00:00Z) or an age "
                                     "like 30s, 10m, 2h, 7d");
  if (spec.empty()) return bad;
  char unit = spec.back();
  std::string_view num = spec.substr(0, spec.size() - 1);
  if (std::string_view("smhd").find(unit) != std::string_view::npos && !num.empty() &&
      num.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t n = std::stoll(std::string(num));
    int64_t mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
    return now_ns - n * mult * 1'000'000'000LL;
  }
  struct tm t = {};
  std::string s(spec);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
  if (rest == nullptr) return bad;
  int64_t frac_ns = 0;
  if (*rest == '.') {
    int64_t scale = 100'000'000;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10) frac_ns += (*rest - '0') * scale;
  }
  int64_t offset_s = 0;
  if (*rest == 'Z') {
    ++rest;
  } else if ((*rest == '+' || *rest == '-') && std::strlen(rest) == 6 && rest[3] == ':') {
    int sign = *rest == '+' ? 1 : -1;
    offset_s = sign * (std::atoi(std::string(rest + 1, 2).c_str()) * 3600 +
                       std::atoi(std::string(rest + 4, 2).c_str()) * 60);
    rest += 6;
  } else {
    return bad;
  }
  if (*rest != '\0') return bad;
  return (static_cast<int64_t>(timegm(&t)) - offset_s) * 1'000'000'000LL + frac_ns;
}

}  // namespace bucketd
