// A rule set compiled for matching: all event patterns in one index, so an
// event is checked only against the rules it can match, not every rule.
//
// The set interns every field path its patterns name (paths()); events are
// flattened along those paths only, and patterns read fields by slot.
// Each pattern alternative (an AND of field tests) is filed under one
// "anchor" test that every matching event must pass, the one the fewest
// other alternatives share: an exact value (a hash lookup on the field's
// values, strings without building one), a prefix — a prefix operator, or
// the literal start of a wildcard — or a suffix (hash lookups on each
// prefix or suffix length used on that field), or a numeric range (an
// interval list sorted by lower bound). Alternatives with no such test are
// checked for every event. An event's candidates are then checked in full.
//
// Thread-safety: immutable after Build; Match may run on many threads.
#ifndef BUCKETD_RULES_RULE_SET_H_
#define BUCKETD_RULES_RULE_SET_H_

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/rule.h"
#include "rules/text_table.h"

namespace bucketd::rules {

class RuleSet {
 public:
  RuleSet();
  explicit RuleSet(std::vector<Rule> rules);
  RuleSet(RuleSet&&) = default;
  RuleSet& operator=(RuleSet&&) = default;
  RuleSet(const RuleSet&) = delete;  // the index points into its own rules
  RuleSet& operator=(const RuleSet&) = delete;

  const std::vector<Rule>& rules() const { return rules_; }
  // Whether any enabled rule has an event pattern (else Match is always empty).
  bool has_patterns() const { return !alts_.empty(); }
  // The paths the enabled patterns name: what an event needs flattened
  // (FlatEvent's `paths`); it lives as long as the set.
  const FieldPaths& paths() const { return *paths_; }
  // Indexes into rules() of the enabled pattern rules `event` matches,
  // ascending. Fastest for an event flattened along paths(); any other
  // flattening is looked up by path name.
  std::vector<size_t> Match(const FlatEvent& event) const;
  // The same into `out` (cleared first; its buffer kept, for a loop).
  void Match(const FlatEvent& event, std::vector<size_t>* out) const;

 private:
  struct Test {
    uint32_t slot;
    const FieldTest* test;
  };
  struct Alt {
    size_t rule;
    std::vector<Test> tests;
  };
  struct Interval {
    double lo, hi;
    bool lo_open, hi_open;
    uint32_t alt;
  };
  struct FieldIndex {
    TextTable strings;                                          // exact string -> alts
    std::unordered_map<double, std::vector<uint32_t>> numbers;  // exact number -> alts
    std::vector<uint32_t> trues, falses, nulls;
    TextTable prefix;                    // hashed forward
    std::vector<size_t> prefix_lengths;  // distinct, ascending
    TextTable suffix;                    // hashed backward
    std::vector<size_t> suffix_lengths;  // distinct, ascending
    std::vector<Interval> ranges;        // by lower bound
  };
  template <typename ValuesAt>
  void MatchWith(const ValuesAt& values_at, std::vector<size_t>* matched) const;

  std::vector<Rule> rules_;
  std::unique_ptr<FieldPaths> paths_;  // events keep its address
  std::vector<Alt> alts_;
  std::vector<FieldIndex> index_;  // by slot
  std::vector<uint32_t> unanchored_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_RULE_SET_H_
