#include "rules/rule_set.h"

#include <algorithm>
#include <cstdio>

namespace bucketd::rules {

std::string RuleSet::ValueKey(const Value& v) {
  switch (v.type) {
    case Value::Type::kString: return "s" + v.s;
    case Value::Type::kNumber: {
      char buf[40];
      std::snprintf(buf, sizeof(buf), "n%.17g", v.n == 0 ? 0.0 : v.n);  // -0 == 0
      return buf;
    }
    case Value::Type::kBool: return v.b ? "t" : "f";
    case Value::Type::kNull: return "z";
  }
  return "";
}

RuleSet::RuleSet(std::vector<Rule> rules) : rules_(std::move(rules)) {
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!rules_[r].enabled || !rules_[r].pattern) continue;
    for (const auto& conj : rules_[r].pattern->alternatives) {
      size_t alt = alts_.size();
      alts_.push_back({r, &conj});
      // Anchor: the first test made only of exact literals, else of plain prefixes.
      const FieldTest* anchor = nullptr;
      bool by_prefix = false;
      for (int pass = 0; pass < 2 && anchor == nullptr; ++pass) {
        for (const auto& ft : conj) {
          bool ok = !ft.any.empty() && std::all_of(ft.any.begin(), ft.any.end(), [&](const Matcher& m) {
            if (pass == 0) {
              return m.kind == Matcher::Kind::kString || m.kind == Matcher::Kind::kNumber ||
                     m.kind == Matcher::Kind::kBool || m.kind == Matcher::Kind::kNull;
            }
            return m.kind == Matcher::Kind::kPrefix && !m.ignore_case;
          });
          if (ok) {
            anchor = &ft;
            by_prefix = pass == 1;
            break;
          }
        }
      }
      if (anchor == nullptr) {
        unanchored_.push_back(alt);
        continue;
      }
      FieldIndex& fi = index_[anchor->path];
      for (const Matcher& m : anchor->any) {
        if (by_prefix) {
          fi.prefix[m.s].push_back(alt);
          fi.prefix_lengths.push_back(m.s.size());
        } else {
          Value v;
          v.type = m.kind == Matcher::Kind::kString ? Value::Type::kString
                   : m.kind == Matcher::Kind::kNumber ? Value::Type::kNumber
                   : m.kind == Matcher::Kind::kBool   ? Value::Type::kBool
                                                      : Value::Type::kNull;
          v.s = m.s;
          v.n = m.n;
          v.b = m.b;
          fi.exact[ValueKey(v)].push_back(alt);
        }
      }
    }
  }
  for (auto& [path, fi] : index_) {
    std::sort(fi.prefix_lengths.begin(), fi.prefix_lengths.end());
    fi.prefix_lengths.erase(std::unique(fi.prefix_lengths.begin(), fi.prefix_lengths.end()),
                            fi.prefix_lengths.end());
  }
}

std::vector<size_t> RuleSet::Match(const FlatEvent& event) const {
  std::vector<size_t> candidates = unanchored_;
  for (const auto& [path, values] : event.fields()) {
    auto it = index_.find(path);
    if (it == index_.end()) continue;
    const FieldIndex& fi = it->second;
    for (const Value& v : values) {
      if (!fi.exact.empty()) {
        auto hit = fi.exact.find(ValueKey(v));
        if (hit != fi.exact.end()) candidates.insert(candidates.end(), hit->second.begin(), hit->second.end());
      }
      if (v.type != Value::Type::kString) continue;
      for (size_t len : fi.prefix_lengths) {
        if (len > v.s.size()) break;
        auto hit = fi.prefix.find(v.s.substr(0, len));
        if (hit != fi.prefix.end()) candidates.insert(candidates.end(), hit->second.begin(), hit->second.end());
      }
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<size_t> matched;
  for (size_t alt : candidates) {
    const Alt& a = alts_[alt];
    if (!matched.empty() && matched.back() == a.rule) continue;
    if (MatchesAll(*a.tests, event)) matched.push_back(a.rule);
  }
  std::sort(matched.begin(), matched.end());
  matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
  return matched;
}

}  // namespace bucketd::rules
