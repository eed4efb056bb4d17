// A rule set compiled for matching: all event patterns in one index, so an
// event is checked only against the rules it can match, not every rule.
//
// Each pattern alternative (an AND of field tests) is filed under one
// "anchor" test that every matching event must pass: an exact value (hash
// lookup on the field's values) or a prefix — a prefix operator, or the
// literal start of a wildcard — or a suffix (hash lookups on each prefix or
// suffix length used on that field). Alternatives with no exact or prefix test are
// checked for every event. An event's candidates are then checked in full.
//
// Thread-safety: immutable after Build; Match may run on many threads.
#ifndef BUCKETD_RULES_RULE_SET_H_
#define BUCKETD_RULES_RULE_SET_H_

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/rule.h"

namespace bucketd::rules {

class RuleSet {
 public:
  RuleSet() = default;
  explicit RuleSet(std::vector<Rule> rules);

  const std::vector<Rule>& rules() const { return rules_; }
  // Whether any enabled rule has an event pattern (else Match is always empty).
  bool has_patterns() const { return !alts_.empty(); }
  // Indexes into rules() of the enabled pattern rules `event` matches, ascending.
  std::vector<size_t> Match(const FlatEvent& event) const;

 private:
  struct Alt {
    size_t rule;
    const std::vector<FieldTest>* tests;
  };
  struct FieldIndex {
    std::unordered_map<std::string, std::vector<size_t>> exact;   // value key -> alts
    std::unordered_map<std::string, std::vector<size_t>> prefix;  // prefix -> alts
    std::vector<size_t> prefix_lengths;                           // distinct, ascending
    std::unordered_map<std::string, std::vector<size_t>> suffix;  // suffix -> alts
    std::vector<size_t> suffix_lengths;                           // distinct, ascending
  };
  static std::string ValueKey(const Value& v);

  std::vector<Rule> rules_;
  std::vector<Alt> alts_;
  std::map<std::string, FieldIndex> index_;  // by field path
  std::vector<size_t> unanchored_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_RULE_SET_H_
