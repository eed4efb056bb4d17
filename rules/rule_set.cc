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

}  // namespace

namespace {

// The index keys a field test could be filed under: ("=" or "^") + value
// key, one per alternative value; empty when the test cannot anchor.
std::vector<std::string> AnchorKeys(const FieldTest& ft, std::string (*value_key)(const Value&)) {
  std::vector<std::string> keys;
  for (const Matcher& m : ft.any) {
    switch (m.kind) {
      case Matcher::Kind::kString:
      case Matcher::Kind::kNumber:
      case Matcher::Kind::kBool:
      case Matcher::Kind::kNull: {
        Value v;
        v.type = m.kind == Matcher::Kind::kString ? Value::Type::kString
                 : m.kind == Matcher::Kind::kNumber ? Value::Type::kNumber
                 : m.kind == Matcher::Kind::kBool   ? Value::Type::kBool
                                                    : Value::Type::kNull;
        v.s = m.s;
        v.n = m.n;
        v.b = m.b;
        keys.push_back("=" + value_key(v));
        break;
      }
      case Matcher::Kind::kPrefix:
        if (m.ignore_case) return {};
        keys.push_back("^" + m.s);
        break;
      case Matcher::Kind::kSuffix:
        if (m.ignore_case) return {};
        keys.push_back("$" + m.s);
        break;
      case Matcher::Kind::kWildcard: {
        std::string p = LiteralPrefix(m.s);
        if (p.empty()) return {};
        keys.push_back("^" + p);
        break;
      }
      default:
        return {};
    }
  }
  return keys;
}

}  // namespace

RuleSet::RuleSet(std::vector<Rule> rules) : rules_(std::move(rules)) {
  // Each alternative is filed under its rarest anchor (the one fewest other
  // alternatives share), so a common value like source=aws.s3 does not make
  // every rule a candidate for every event.
  std::map<std::string, size_t> popularity;  // path + '\0' + anchor key
  for (const auto& rule : rules_) {
    if (!rule.enabled || !rule.pattern) continue;
    for (const auto& conj : rule.pattern->alternatives) {
      for (const auto& ft : conj) {
        for (const auto& k : AnchorKeys(ft, &RuleSet::ValueKey)) ++popularity[ft.path + '\0' + k];
      }
    }
  }
  for (size_t r = 0; r < rules_.size(); ++r) {
    if (!rules_[r].enabled || !rules_[r].pattern) continue;
    for (const auto& conj : rules_[r].pattern->alternatives) {
      size_t alt = alts_.size();
      alts_.push_back({r, &conj});
      const FieldTest* best = nullptr;
      std::vector<std::string> best_keys;
      size_t best_cost = SIZE_MAX;
      for (const auto& ft : conj) {
        auto keys = AnchorKeys(ft, &RuleSet::ValueKey);
        if (keys.empty()) continue;
        size_t cost = 0;
        for (const auto& k : keys) cost += popularity[ft.path + '\0' + k];
        if (cost < best_cost) {
          best = &ft;
          best_keys = std::move(keys);
          best_cost = cost;
        }
      }
      if (best == nullptr) {
        unanchored_.push_back(alt);
        continue;
      }
      FieldIndex& fi = index_[best->path];
      for (const auto& k : best_keys) {
        if (k[0] == '=') {
          fi.exact[k.substr(1)].push_back(alt);
        } else if (k[0] == '^') {
          fi.prefix[k.substr(1)].push_back(alt);
          fi.prefix_lengths.push_back(k.size() - 1);
        } else {
          fi.suffix[k.substr(1)].push_back(alt);
          fi.suffix_lengths.push_back(k.size() - 1);
        }
      }
    }
  }
  for (auto& [path, fi] : index_) {
    for (auto* lengths : {&fi.prefix_lengths, &fi.suffix_lengths}) {
      std::sort(lengths->begin(), lengths->end());
      lengths->erase(std::unique(lengths->begin(), lengths->end()), lengths->end());
    }
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
      for (size_t len : fi.suffix_lengths) {
        if (len > v.s.size()) break;
        auto hit = fi.suffix.find(v.s.substr(v.s.size() - len));
        if (hit != fi.suffix.end()) candidates.insert(candidates.end(), hit->second.begin(), hit->second.end());
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
