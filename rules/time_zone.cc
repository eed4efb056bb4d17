#include "rules/time_zone.h"

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/civil_time.h"
#include "common/file_util.h"

namespace bucketd::rules {

namespace {

int YearOf(int64_t utc_s) {
  int y, m, d;
  CivilFromDays((utc_s >= 0 ? utc_s : utc_s - 86399) / 86400, &y, &m, &d);
  return y;
}

int64_t Be(std::string_view d, size_t off, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(d[off + static_cast<size_t>(i)]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

// POSIX TZ parsing helpers over a cursor.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool Done() const { return i >= s.size(); }
  char Peek() const { return Done() ? '\0' : s[i]; }
};

bool ParseName(Cursor* c) {
  if (c->Peek() == '<') {
    size_t close = c->s.find('>', c->i);
    if (close == std::string_view::npos) return false;
    c->i = close + 1;
    return true;
  }
  size_t start = c->i;
  while (std::isalpha(static_cast<unsigned char>(c->Peek()))) ++c->i;
  return c->i - start >= 3;
}

// [+-]hh[:mm[:ss]] as seconds.
bool ParseHms(Cursor* c, int32_t* out) {
  int sign = 1;
  if (c->Peek() == '+' || c->Peek() == '-') sign = c->s[c->i++] == '-' ? -1 : 1;
  int32_t parts[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    if (!std::isdigit(static_cast<unsigned char>(c->Peek()))) return k > 0;
    int v = 0;
    while (std::isdigit(static_cast<unsigned char>(c->Peek()))) v = v * 10 + (c->s[c->i++] - '0');
    parts[k] = v;
    *out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    if (c->Peek() != ':') return true;
    ++c->i;
  }
  return true;
}

}  // namespace

Result<TimeZone> TimeZone::Load(Env& env, const std::string& name) {
  if (name == "UTC" || name == "Etc/UTC") return FromTzif("UTC", "");
  if (name.empty() || name.find("..") != std::string::npos || name[0] == '/') {
    return Status::InvalidArgument("unknown time zone '" + name + "'");
  }
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + name;
  auto data = ReadFileToString(env.fs(), AT_FDCWD, path);
  if (!data.ok()) {
    return Status::InvalidArgument("unknown time zone '" + name + "' (no " + path + ")");
  }
  return FromTzif(name, *data);
}

Result<TimeZone> TimeZone::FromTzif(const std::string& name, std::string_view d) {
  TimeZone tz;
  tz.name_ = name;
  if (name == "UTC" && d.empty()) return tz;
  auto bad = Status::InvalidArgument("time zone '" + name + "': not a TZif file");
  if (d.size() < 44 || d.substr(0, 4) != "TZif") return bad;
  char version = d[4];
  auto counts = [&](size_t base, int64_t c[6]) {
    for (int k = 0; k < 6; ++k) c[k] = Be(d, base + 20 + 4 * static_cast<size_t>(k), 4);
  };
  int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  size_t base = 0;
  int tbytes = 4;
  if (version >= '2') {
    size_t v1 = 44 + static_cast<size_t>(c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    if (d.size() < v1 + 44 || d.substr(v1, 4) != "TZif") return bad;
    base = v1;
    counts(base, c);
    tbytes = 8;
  }
  size_t p = base + 44;
  size_t need = static_cast<size_t>(c[3] * tbytes + c[3] + c[4] * 6 + c[5] + c[2] * (tbytes + 4) + c[1] + c[0]);
  if (d.size() < p + need) return bad;
  std::vector<int64_t> times;
  for (int64_t k = 0; k < c[3]; ++k) times.push_back(Be(d, p + static_cast<size_t>(k * tbytes), tbytes));
  p += static_cast<size_t>(c[3] * tbytes);
  std::vector<uint8_t> idx;
  for (int64_t k = 0; k < c[3]; ++k) idx.push_back(static_cast<uint8_t>(d[p + static_cast<size_t>(k)]));
  p += static_cast<size_t>(c[3]);
  std::vector<int32_t> type_offsets;
  std::vector<bool> type_dst;
  for (int64_t k = 0; k < c[4]; ++k) {
    type_offsets.push_back(static_cast<int32_t>(Be(d, p + static_cast<size_t>(k * 6), 4)));
    type_dst.push_back(d[p + static_cast<size_t>(k * 6) + 4] != 0);
  }
  if (type_offsets.empty()) return bad;
  p += static_cast<size_t>(c[4] * 6 + c[5] + c[2] * (tbytes + 4) + c[1] + c[0]);
  tz.initial_offset_ = type_offsets[0];
  for (size_t k = 0; k < times.size(); ++k) {
    if (idx[k] >= type_offsets.size()) return bad;
    tz.transitions_.push_back(times[k]);
    tz.offsets_.push_back(type_offsets[idx[k]]);
  }
  // Footer: "\n<POSIX TZ>\n" (version 2+).
  if (version >= '2' && p < d.size() && d[p] == '\n') {
    size_t end = d.find('\n', p + 1);
    std::string_view rule = d.substr(p + 1, end == std::string_view::npos ? std::string_view::npos : end - p - 1);
    Cursor cur{rule};
    int32_t std_west = 0;
    if (!rule.empty() && ParseName(&cur) && ParseHms(&cur, &std_west)) {
      tz.has_rule_ = true;
      tz.std_offset_ = -std_west;
      tz.dst_offset_ = tz.std_offset_ + 3600;
      if (!cur.Done() && cur.Peek() != ',' && ParseName(&cur)) {
        tz.rule_has_dst_ = true;
        int32_t dst_west;
        if (cur.Peek() != ',' && ParseHms(&cur, &dst_west)) tz.dst_offset_ = -dst_west;
        for (RuleDate* rd : {&tz.dst_start_, &tz.dst_end_}) {
          if (cur.Peek() != ',') break;
          ++cur.i;
          if (cur.Peek() != 'M') {  // Jn / n forms: not used by current zones
            tz.rule_has_dst_ = false;
            break;
          }
          ++cur.i;
          int vals[3] = {0, 0, 0};
          for (int k = 0; k < 3; ++k) {
            while (std::isdigit(static_cast<unsigned char>(cur.Peek()))) vals[k] = vals[k] * 10 + (cur.s[cur.i++] - '0');
            if (k < 2 && cur.Peek() == '.') ++cur.i;
          }
          rd->month = vals[0];
          rd->week = vals[1];
          rd->weekday = vals[2];
          if (cur.Peek() == '/') {
            ++cur.i;
            ParseHms(&cur, &rd->time);
          }
        }
      }
    }
  }
  return tz;
}

int64_t TimeZone::RuleTransition(int year, const RuleDate& r, int32_t offset_before) const {
  // Day of the w-th (5 = last) weekday d of month m.
  int64_t first = DaysFromCivil(year, static_cast<unsigned>(r.month), 1);
  int wd_first = WeekdayOfDays(first);
  int day = 1 + (r.weekday - wd_first + 7) % 7 + (r.week - 1) * 7;
  int dim = DaysInMonth(year, r.month);
  while (day > dim) day -= 7;
  return (first + day - 1) * 86400 + r.time - offset_before;
}

int32_t TimeZone::RuleOffsetAt(int64_t utc_s) const {
  if (!rule_has_dst_) return std_offset_;
  int year = YearOf(utc_s);
  int64_t start = RuleTransition(year, dst_start_, std_offset_);
  int64_t end = RuleTransition(year, dst_end_, dst_offset_);
  bool in_dst = start < end ? (utc_s >= start && utc_s < end) : (utc_s >= start || utc_s < end);
  return in_dst ? dst_offset_ : std_offset_;
}

int32_t TimeZone::OffsetAt(int64_t utc_s) const {
  if (transitions_.empty() || utc_s < transitions_.front()) {
    return transitions_.empty() && has_rule_ ? RuleOffsetAt(utc_s) : initial_offset_;
  }
  if (utc_s >= transitions_.back() && has_rule_) return RuleOffsetAt(utc_s);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_s);
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

std::vector<int64_t> TimeZone::FromLocal(int64_t local_s) const {
  std::vector<int64_t> out;
  for (int64_t probe : {local_s - 86400, local_s, local_s + 86400}) {
    int64_t u = local_s - OffsetAt(probe);
    if (OffsetAt(u) + u == local_s && std::find(out.begin(), out.end(), u) == out.end()) out.push_back(u);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace bucketd::rules
