#include "rules/schedule.h"

#include "common/civil_time.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace bucketd::rules {

namespace {

constexpr int kMinYear = 1970, kMaxYear = 2199;
constexpr int64_t kNs = 1'000'000'000LL;

class FieldParser {
 public:
  FieldParser(std::string expr, const char* field, int lo, int hi,
              std::vector<std::string> names = {}, int name_base = 0)
      : expr_(std::move(expr)), field_(field), lo_(lo), hi_(hi), names_(std::move(names)),
        name_base_(name_base) {}

  Status Bad(const std::string& item, const std::string& what) const {
    return Status::InvalidArgument("invalid schedule expression '" + expr_ + "': " + field_ +
                                   " field '" + item + "': " + what);
  }

  Result<int> Number(const std::string& item, const std::string& s) const {
    std::string up;
    for (char c : s) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    for (size_t i = 0; i < names_.size(); ++i) {
      if (up == names_[i]) return static_cast<int>(i) + name_base_;
    }
    if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos) {
      return Bad(item, "expected a number" + std::string(names_.empty() ? "" : " or a name") +
                           " from " + std::to_string(lo_) + " to " + std::to_string(hi_));
    }
    int v = std::stoi(s);
    if (v < lo_ || v > hi_) {
      return Bad(item, std::to_string(v) + " is outside " + std::to_string(lo_) + "-" + std::to_string(hi_));
    }
    return v;
  }

  // Lists, ranges, steps and '*' into the values lo..hi.
  Result<std::vector<int>> Values(const std::string& text) const {
    std::vector<int> out;
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      std::string item = text.substr(start, comma - start);
      if (item.empty()) return Bad(text, "empty list item");
      std::string range = item;
      int step = 1;
      size_t slash = item.find('/');
      if (slash != std::string::npos) {
        range = item.substr(0, slash);
        std::string st = item.substr(slash + 1);
        if (st.empty() || st.find_first_not_of("0123456789") != std::string::npos || std::stoi(st) == 0) {
          return Bad(item, "expected a positive step after '/'");
        }
        step = std::stoi(st);
      }
      int a = lo_, b = hi_;
      if (range != "*") {
        size_t dash = range.find('-');
        ASSIGN_OR_RETURN(a, Number(item, range.substr(0, dash)));
        b = slash != std::string::npos && dash == std::string::npos ? hi_ : a;
        if (dash != std::string::npos) {
          ASSIGN_OR_RETURN(b, Number(item, range.substr(dash + 1)));
          if (b < a) return Bad(item, "range runs backwards");
        }
      }
      for (int v = a; v <= b; v += step) out.push_back(v);
      start = comma + 1;
    }
    return out;
  }

 private:
  std::string expr_;
  const char* field_;
  int lo_, hi_;
  std::vector<std::string> names_;
  int name_base_;
};

Result<Schedule> ParseRate(const std::string& expr, std::string_view body) {
  auto bad = Status::InvalidArgument("invalid schedule expression '" + expr +
                                     "': expected rate(<positive whole number> "
                                     "minute|minutes|hour|hours|day|days)");
  size_t sp = body.find(' ');
  if (sp == std::string_view::npos) return bad;
  std::string num(body.substr(0, sp)), unit(body.substr(sp + 1));
  if (num.empty() || num.size() > 9 || num.find_first_not_of("0123456789") != std::string::npos) return bad;
  int64_t n = std::stoll(num);
  if (n <= 0) return bad;
  std::string singular = unit.size() > 1 && unit.back() == 's' ? unit.substr(0, unit.size() - 1) : unit;
  int64_t secs = singular == "minute" ? 60 : singular == "hour" ? 3600 : singular == "day" ? 86400 : 0;
  if (secs == 0) return bad;
  if ((n == 1) != (unit == singular)) {
    return Status::InvalidArgument("invalid schedule expression '" + expr + "': use '" +
                                   (n == 1 ? singular : singular + "s") + "' with " + num +
                                   " (AWS: singular for 1, plural otherwise)");
  }
  Schedule s;
  s.kind = Schedule::Kind::kRate;
  s.rate_seconds = n * secs;
  s.expression = expr;
  return s;
}

// Calls fn on each comma-separated item of a day field.
template <typename Fn>
Status ForEachItem(const std::string& text, const Fn& fn) {
  for (size_t start = 0; start <= text.size();) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    RETURN_IF_ERROR(fn(text.substr(start, comma - start)));
    start = comma + 1;
  }
  return Status::OK();
}

Status ParseDayOfMonth(const FieldParser& fp, const std::string& text, CronSpec* c) {
  if (text == "?" || text == "*") {
    c->dom_any = true;
    return Status::OK();
  }
  return ForEachItem(text, [&](const std::string& item) -> Status {
    if (item == "L") {
      c->last_day = true;
    } else if (item == "LW") {
      c->last_weekday = true;
    } else if (!item.empty() && item.back() == 'W') {
      ASSIGN_OR_RETURN(int d, fp.Number(item, item.substr(0, item.size() - 1)));
      c->nearest_weekday.push_back(d);
    } else {
      ASSIGN_OR_RETURN(auto days, fp.Values(item));
      for (int d : days) c->days.set(static_cast<size_t>(d));
    }
    return Status::OK();
  });
}

Status ParseDayOfWeek(const FieldParser& fp, const std::string& text, CronSpec* c) {
  if (text == "?" || text == "*") {
    c->dow_any = true;
    return Status::OK();
  }
  return ForEachItem(text, [&](const std::string& item) -> Status {
    size_t hash = item.find('#');
    if (item == "L") {
      c->weekdays.set(6);  // L alone: the last day of the week, Saturday
    } else if (hash != std::string::npos) {
      ASSIGN_OR_RETURN(int wd, fp.Number(item, item.substr(0, hash)));
      std::string k = item.substr(hash + 1);
      if (k.size() != 1 || k[0] < '1' || k[0] > '5') return fp.Bad(item, "expected #1 to #5 after the weekday");
      c->nth_weekday.emplace_back(wd - 1, k[0] - '0');
    } else if (item.size() > 1 && item.back() == 'L') {
      ASSIGN_OR_RETURN(int wd, fp.Number(item, item.substr(0, item.size() - 1)));
      c->last_of_weekday.push_back(wd - 1);
    } else {
      ASSIGN_OR_RETURN(auto wds, fp.Values(item));
      for (int wd : wds) c->weekdays.set(static_cast<size_t>(wd - 1));
    }
    return Status::OK();
  });
}

Result<Schedule> ParseCron(const std::string& expr, std::string_view body) {
  std::vector<std::string> f;
  std::string cur;
  for (char ch : body) {
    if (ch == ' ') {
      if (!cur.empty()) f.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(ch);
    }
  }
  if (!cur.empty()) f.push_back(cur);
  if (f.size() != 6) {
    return Status::InvalidArgument("invalid schedule expression '" + expr + "': cron takes 6 fields "
                                   "(Minutes Hours Day-of-month Month Day-of-week Year), got " +
                                   std::to_string(f.size()));
  }
  bool dom_q = f[2] == "?", dow_q = f[4] == "?";
  if (dom_q == dow_q) {
    return Status::InvalidArgument("invalid schedule expression '" + expr +
                                   "': exactly one of Day-of-month and Day-of-week must be '?'");
  }
  Schedule s;
  s.kind = Schedule::Kind::kCron;
  s.expression = expr;
  CronSpec& c = s.cron;
  FieldParser minutes(expr, "Minutes", 0, 59), hours(expr, "Hours", 0, 23);
  FieldParser dom(expr, "Day-of-month", 1, 31);
  FieldParser month(expr, "Month", 1, 12, {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}, 1);
  FieldParser dow(expr, "Day-of-week", 1, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, 1);
  FieldParser year(expr, "Year", kMinYear, kMaxYear);
  for (const auto& [fp, text, bits] : {std::tuple{&minutes, f[0], 0}, std::tuple{&hours, f[1], 1},
                                       std::tuple{&month, f[3], 2}}) {
    if (text == "?") return fp->Bad(text, "'?' is only allowed in a day field");
    ASSIGN_OR_RETURN(auto vals, fp->Values(text));
    for (int v : vals) {
      if (bits == 0) c.minutes.set(static_cast<size_t>(v));
      if (bits == 1) c.hours.set(static_cast<size_t>(v));
      if (bits == 2) c.months.set(static_cast<size_t>(v));
    }
  }
  if (f[5] == "?") return year.Bad(f[5], "'?' is only allowed in a day field");
  ASSIGN_OR_RETURN(c.years, year.Values(f[5]));
  std::sort(c.years.begin(), c.years.end());
  c.years.erase(std::unique(c.years.begin(), c.years.end()), c.years.end());
  RETURN_IF_ERROR(ParseDayOfMonth(dom, f[2], &c));
  RETURN_IF_ERROR(ParseDayOfWeek(dow, f[4], &c));
  return s;
}

bool DayMatches(const CronSpec& c, int y, int m, int d, int64_t days) {
  int dim = DaysInMonth(y, m);
  int wd = WeekdayOfDays(days);
  if (!c.dom_any) {
    if (c.days.test(static_cast<size_t>(d)) || (c.last_day && d == dim)) return true;
    if (c.last_weekday) {
      int last = dim;
      int64_t last_days = days + (dim - d);
      while (WeekdayOfDays(last_days) == 0 || WeekdayOfDays(last_days) == 6) {
        --last;
        --last_days;
      }
      if (d == last) return true;
    }
    for (int n : c.nearest_weekday) {
      if (n > dim) continue;
      int64_t nd = days + (n - d);
      int target = n, w = WeekdayOfDays(nd);
      if (w == 6) target = n == 1 ? n + 2 : n - 1;          // Saturday
      else if (w == 0) target = n == dim ? n - 2 : n + 1;   // Sunday
      if (d == target) return true;
    }
    return false;
  }
  if (c.dow_any) return true;
  if (c.weekdays.test(static_cast<size_t>(wd))) return true;
  for (int w : c.last_of_weekday) {
    if (w == wd && d + 7 > dim) return true;
  }
  for (const auto& [w, k] : c.nth_weekday) {
    if (w == wd && (d - 1) / 7 + 1 == k) return true;
  }
  return false;
}

// The first matching wall-clock minute at or after `start_min` (minutes
// since 1970 on the wall clock) for which `accept` holds.
template <typename Accept>
std::optional<int64_t> NextCronMinute(const CronSpec& c, int64_t start_min, const Accept& accept) {
  if (start_min < 0) start_min = 0;
  int64_t day = start_min / 1440;
  int first_minute_of_day = static_cast<int>(start_min % 1440);
  for (;; ++day, first_minute_of_day = 0) {
    int y, m, d;
    CivilFromDays(day, &y, &m, &d);
    if (y > kMaxYear || y > c.years.back()) return std::nullopt;
    if (!std::binary_search(c.years.begin(), c.years.end(), y)) {
      auto next = std::upper_bound(c.years.begin(), c.years.end(), y);
      if (next == c.years.end()) return std::nullopt;
      day = DaysFromCivil(*next, 1, 1) - 1;
      continue;
    }
    if (!c.months.test(static_cast<size_t>(m))) {
      day += DaysInMonth(y, m) - d;  // to the month's last day; the loop steps on
      continue;
    }
    if (!DayMatches(c, y, m, d, day)) continue;
    for (int h = first_minute_of_day / 60; h < 24; ++h) {
      if (!c.hours.test(static_cast<size_t>(h))) continue;
      int from = h == first_minute_of_day / 60 ? first_minute_of_day % 60 : 0;
      for (int mi = from; mi < 60; ++mi) {
        if (!c.minutes.test(static_cast<size_t>(mi))) continue;
        int64_t wall_s = day * 86400 + h * 3600 + mi * 60;
        if (auto utc = accept(wall_s)) return *utc * kNs;
      }
    }
  }
}

std::optional<int64_t> NextCron(const CronSpec& c, const TimeZone* zone, int64_t after_ns) {
  int64_t after_s = after_ns >= 0 ? after_ns / kNs : (after_ns - kNs + 1) / kNs;
  if (zone == nullptr) {
    // Strictly after: from the next whole minute.
    return NextCronMinute(c, after_s / 60 + 1, [](int64_t wall_s) { return std::optional<int64_t>(wall_s); });
  }
  // Start a day early on the wall clock (offsets move it) and keep the first
  // instant after `after`. A skipped local time has no instant and does not
  // fire; a repeated one fires at its first instant only.
  int64_t wall_after = after_s + zone->OffsetAt(after_s);
  return NextCronMinute(c, wall_after / 60 - 1440, [&](int64_t wall_s) -> std::optional<int64_t> {
    std::vector<int64_t> utc = zone->FromLocal(wall_s);
    if (utc.empty() || utc.front() <= after_s) return std::nullopt;
    return utc.front();
  });
}

}  // namespace

Result<Schedule> ParseSchedule(std::string_view expression) {
  std::string expr(expression);
  auto body = [&](std::string_view name) -> std::optional<std::string_view> {
    if (expression.substr(0, name.size() + 1) != std::string(name) + "(" || expression.back() != ')') {
      return std::nullopt;
    }
    return expression.substr(name.size() + 1, expression.size() - name.size() - 2);
  };
  if (auto r = body("rate")) return ParseRate(expr, *r);
  if (auto c = body("cron")) return ParseCron(expr, *c);
  return Status::InvalidArgument("invalid schedule expression '" + expr +
                                 "': expected rate(...) or cron(...)");
}

std::optional<int64_t> NextFiring(const Schedule& s, int64_t after_ns, int64_t anchor_ns) {
  if (s.kind == Schedule::Kind::kCron) return NextCron(s.cron, s.zone.get(), after_ns);
  int64_t period = s.rate_seconds * kNs;
  if (after_ns < anchor_ns) return anchor_ns + period;
  int64_t k = (after_ns - anchor_ns) / period + 1;
  return anchor_ns + k * period;
}

}  // namespace bucketd::rules
