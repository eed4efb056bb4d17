#include "rules/rule_set.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

namespace bucketd::rules {

namespace {

// The characters a wildcard pattern must start with ("a\*b*" -> "a*b").
std::string LiteralPrefix(const std::string& wildcard) {
  std::string out;
  for (size_t i = 0; i < wildcard.size(); ++i) {
    if (wildcard[i] == '*') return out;
    if (wildcard[i] == '\\' && i + 1 < wildcard.size()) ++i;
    out.push_back(wildcard[i]);
  }
  return out;
}

// One way an alternative can be found from one value of one field.
struct Anchor {
  enum class Kind { kExact, kPrefix, kSuffix, kRange };
  Kind kind = Kind::kExact;
  Matcher::Kind literal = Matcher::Kind::kString;  // kExact: which literal
  std::string s;                                    // kExact string, kPrefix, kSuffix
  double n = 0;                                     // kExact number
  bool b = false;                                   // kExact bool
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;

  // What alternatives filed under the same anchor share (for choosing the
  // rarest); every range on a field is stabbed by the same values.
  std::string PopularityKey(const std::string& path) const {
    std::string key = path + '\0';
    switch (kind) {
      case Kind::kExact: {
        char buf[48];
        std::snprintf(buf, sizeof(buf), "=%d:%.17g:%d:", static_cast<int>(literal), n == 0 ? 0.0 : n, b);
        return key + buf + s;
      }
      case Kind::kPrefix: return key + "^" + s;
      case Kind::kSuffix: return key + "$" + s;
      case Kind::kRange: return key + "#";
    }
    return key;
  }
};

// The anchors a field test could be filed under, one per alternative
// matcher; empty when some matcher cannot anchor.
std::vector<Anchor> AnchorsOf(const FieldTest& ft) {
  std::vector<Anchor> anchors;
  for (const Matcher& m : ft.any) {
    Anchor a;
    switch (m.kind) {
      case Matcher::Kind::kString:
      case Matcher::Kind::kNumber:
      case Matcher::Kind::kBool:
      case Matcher::Kind::kNull:
        a.literal = m.kind;
        a.s = m.s;
        a.n = m.n;
        a.b = m.b;
        break;
      case Matcher::Kind::kPrefix:
      case Matcher::Kind::kSuffix:
        if (m.ignore_case) return {};
        a.kind = m.kind == Matcher::Kind::kPrefix ? Anchor::Kind::kPrefix : Anchor::Kind::kSuffix;
        a.s = m.s;
        break;
      case Matcher::Kind::kWildcard:
        a.kind = Anchor::Kind::kPrefix;
        a.s = LiteralPrefix(m.s);
        if (a.s.empty()) return {};
        break;
      case Matcher::Kind::kNumeric:
        a.kind = Anchor::Kind::kRange;
        for (const auto& [op, x] : m.ops) {
          if (op == ">" || op == ">=" || op == "=") {
            bool open = op == ">";
            if (x > a.lo || (x == a.lo && open)) {
              a.lo = x;
              a.lo_open = open;
            }
          }
          if (op == "<" || op == "<=" || op == "=") {
            bool open = op == "<";
            if (x < a.hi || (x == a.hi && open)) {
              a.hi = x;
              a.hi_open = open;
            }
          }
        }
        break;
      default:
        return {};
    }
    anchors.push_back(std::move(a));
  }
  return anchors;
}

void AddDistinct(std::vector<size_t>* lengths, size_t n) {
  auto it = std::lower_bound(lengths->begin(), lengths->end(), n);
  if (it == lengths->end() || *it != n) lengths->insert(it, n);
}

void Append(std::vector<uint32_t>* out, const std::vector<uint32_t>& alts) {
  out->insert(out->end(), alts.begin(), alts.end());
}

void AppendFound(std::vector<uint32_t>* out, const std::vector<uint32_t>* alts) {
  if (alts != nullptr) Append(out, *alts);
}

// The alternatives filed under the string's exact value and its prefixes
// (all hashes from one forward pass), and under its suffixes (one backward).
void StringCandidates(std::string_view s, const TextTable& strings, const TextTable& prefix,
                      const std::vector<size_t>& prefix_lengths, const TextTable& suffix,
                      const std::vector<size_t>& suffix_lengths, std::vector<uint32_t>* out) {
  size_t next = 0;
  uint64_t h = TextTable::kSeed;
  if (next < prefix_lengths.size() && prefix_lengths[next] == 0) AppendFound(out, prefix.Find(h, {}));
  size_t end = strings.empty() ? std::min(prefix_lengths.empty() ? 0 : prefix_lengths.back(), s.size()) : s.size();
  for (size_t i = 0; i < end; ++i) {
    h = TextTable::Step(h, s[i]);
    while (next < prefix_lengths.size() && prefix_lengths[next] <= i + 1) {
      if (prefix_lengths[next] == i + 1) AppendFound(out, prefix.Find(h, s.substr(0, i + 1)));
      ++next;
    }
  }
  if (!strings.empty()) AppendFound(out, strings.Find(h, s));
  if (suffix_lengths.empty()) return;
  next = 0;
  h = TextTable::kSeed;
  if (suffix_lengths[0] == 0) AppendFound(out, suffix.Find(h, {}));
  end = std::min(suffix_lengths.back(), s.size());
  for (size_t i = 0; i < end; ++i) {
    h = TextTable::Step(h, s[s.size() - 1 - i]);
    while (next < suffix_lengths.size() && suffix_lengths[next] <= i + 1) {
      if (suffix_lengths[next] == i + 1) AppendFound(out, suffix.Find(h, s.substr(s.size() - 1 - i)));
      ++next;
    }
  }
}

}  // namespace

RuleSet::RuleSet() : paths_(std::make_unique<FieldPaths>()) {}

RuleSet::RuleSet(std::vector<Rule> rules) : rules_(std::move(rules)), paths_(std::make_unique<FieldPaths>()) {
  // Each alternative is filed under its rarest anchor (the one fewest other
  // alternatives share), so a common value like source=aws.s3 does not make
  // every rule a candidate for every event.
  std::map<std::string, size_t> popularity;
  for (const auto& rule : rules_) {
    if (!rule.enabled || !rule.pattern) continue;
    for (const auto& conj : rule.pattern->alternatives) {
      for (const auto& ft : conj) {
        paths_->Add(ft.path);
        for (const auto& a : AnchorsOf(ft)) ++popularity[a.PopularityKey(ft.path)];
      }
    }
  }
  index_.resize(paths_->size());
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!rules_[r].enabled || !rules_[r].pattern) continue;
    for (const auto& conj : rules_[r].pattern->alternatives) {
      auto alt = static_cast<uint32_t>(alts_.size());
      Alt compiled{r, {}};
      const FieldTest* best = nullptr;
      std::vector<Anchor> best_anchors;
      size_t best_cost = SIZE_MAX;
      for (const auto& ft : conj) {
        compiled.tests.push_back({paths_->Find(ft.path), &ft});
        auto anchors = AnchorsOf(ft);
        if (anchors.empty()) continue;
        size_t cost = 0;
        for (const auto& a : anchors) cost += popularity[a.PopularityKey(ft.path)];
        if (cost < best_cost) {
          best = &ft;
          best_anchors = std::move(anchors);
          best_cost = cost;
        }
      }
      alts_.push_back(std::move(compiled));
      if (best == nullptr) {
        unanchored_.push_back(alt);
        continue;
      }
      FieldIndex& fi = index_[paths_->Find(best->path)];
      for (const auto& a : best_anchors) {
        switch (a.kind) {
          case Anchor::Kind::kExact:
            switch (a.literal) {
              case Matcher::Kind::kString: fi.strings.Add(TextTable::Forward(a.s), a.s, alt); break;
              case Matcher::Kind::kNumber: fi.numbers[a.n == 0 ? 0.0 : a.n].push_back(alt); break;
              case Matcher::Kind::kBool: (a.b ? fi.trues : fi.falses).push_back(alt); break;
              default: fi.nulls.push_back(alt); break;
            }
            break;
          case Anchor::Kind::kPrefix:
            fi.prefix.Add(TextTable::Forward(a.s), a.s, alt);
            AddDistinct(&fi.prefix_lengths, a.s.size());
            break;
          case Anchor::Kind::kSuffix:
            fi.suffix.Add(TextTable::Backward(a.s), a.s, alt);
            AddDistinct(&fi.suffix_lengths, a.s.size());
            break;
          case Anchor::Kind::kRange:
            fi.ranges.push_back({a.lo, a.hi, a.lo_open, a.hi_open, alt});
            break;
        }
      }
    }
  }
  for (auto& fi : index_) {
    std::stable_sort(fi.ranges.begin(), fi.ranges.end(),
                     [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
  }
}

template <typename ValuesAt>
void RuleSet::MatchWith(const ValuesAt& values_at, std::vector<size_t>* matched) const {
  thread_local std::vector<uint32_t> candidates;
  candidates.assign(unanchored_.begin(), unanchored_.end());
  for (uint32_t slot = 0; slot < index_.size(); ++slot) {
    const FieldIndex& fi = index_[slot];
    for (ValueView v : values_at(slot)) {
      switch (v.type) {
        case Value::Type::kString:
          StringCandidates(v.s, fi.strings, fi.prefix, fi.prefix_lengths, fi.suffix, fi.suffix_lengths, &candidates);
          break;
        case Value::Type::kNumber: {
          if (!fi.numbers.empty()) {
            auto hit = fi.numbers.find(v.n == 0 ? 0.0 : v.n);
            if (hit != fi.numbers.end()) Append(&candidates, hit->second);
          }
          for (const Interval& in : fi.ranges) {
            if (in.lo > v.n) break;
            bool above_lo = in.lo < v.n || !in.lo_open;
            bool below_hi = v.n < in.hi || (v.n == in.hi && !in.hi_open);
            if (above_lo && below_hi) candidates.push_back(in.alt);
          }
          break;
        }
        case Value::Type::kBool: Append(&candidates, v.b ? fi.trues : fi.falses); break;
        case Value::Type::kNull: Append(&candidates, fi.nulls); break;
      }
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  matched->clear();
  for (uint32_t alt : candidates) {
    const Alt& a = alts_[alt];
    if (!matched->empty() && matched->back() == a.rule) continue;  // alternatives are in rule order
    bool all = std::all_of(a.tests.begin(), a.tests.end(),
                           [&](const Test& t) { return MatchesField(*t.test, values_at(t.slot)); });
    if (all) matched->push_back(a.rule);
  }
}

void RuleSet::Match(const FlatEvent& event, std::vector<size_t>* out) const {
  if (&event.paths() == paths_.get()) {
    MatchWith([&](uint32_t slot) { return event.At(slot); }, out);
    return;
  }
  std::vector<uint32_t> theirs(paths_->size());
  for (uint32_t slot = 0; slot < paths_->size(); ++slot) theirs[slot] = event.paths().Find(paths_->Name(slot));
  MatchWith([&](uint32_t slot) { return event.At(theirs[slot]); }, out);
}

std::vector<size_t> RuleSet::Match(const FlatEvent& event) const {
  std::vector<size_t> out;
  Match(event, &out);
  return out;
}

}  // namespace bucketd::rules
