// EventBridge event patterns: parsing with AWS's validation, and matching
// with AWS's semantics (docs: "Amazon EventBridge event patterns" and
// "Comparison operators for use in event patterns").
//
// A pattern is a JSON object whose leaves are non-empty arrays; an array is
// an OR of matchers (literals or operator objects); fields are ANDed; "$or"
// takes a list of sub-patterns. An event array matches when any element
// matches. Numbers compare by value (300 = 300.0 = 3.0e2).
//
// Thread-safety: a Pattern is an immutable value once built.
#ifndef BUCKETD_RULES_PATTERN_H_
#define BUCKETD_RULES_PATTERN_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "rules/flat_event.h"

namespace bucketd::rules {

// One alternative in a field's list.
struct Matcher {
  enum class Kind {
    kString, kNumber, kBool, kNull,         // exact literals
    kPrefix, kSuffix, kEqualsIgnoreCase,    // s (lower-cased when ignore_case)
    kWildcard,                              // s with '*' wildcards
    kNumeric,                               // ops
    kExists,                                // b
    kCidr,                                  // addr/prefix_len/v6
    kAnythingBut,                           // but (literals) or inner (one operator)
  };
  Kind kind = Kind::kString;
  std::string s;
  double n = 0;
  bool b = false;
  bool ignore_case = false;  // prefix/suffix with equals-ignore-case
  std::vector<std::pair<std::string, double>> ops;  // numeric: (">=", 0), ("<", 5)
  std::array<uint8_t, 16> addr{};
  int prefix_len = 0;
  bool v6 = false;
  std::vector<Value> but;                // anything-but literals
  std::vector<Matcher> inner;            // anything-but operators (OR)
};

struct FieldTest {
  std::string path;
  std::vector<Matcher> any;  // OR
};

// OR of ANDs ($or expanded).
struct Pattern {
  std::vector<std::vector<FieldTest>> alternatives;
};

// Parses and validates. Errors: InvalidArgument "<source>: <where>: <what
// was expected>", where is line:column for JSON syntax errors and the JSON
// pointer of the bad part otherwise.
Result<Pattern> ParsePattern(std::string_view text, const std::string& source);
// The same for an already parsed pattern; `pointer` prefixes error paths.
Result<Pattern> CompilePattern(const nlohmann::json& pattern, const std::string& source,
                               const std::string& pointer = "");

// The paths the pattern names: what an event it is matched against needs
// flattened.
FieldPaths PathsOf(const Pattern& pattern);

bool Matches(const Pattern& pattern, const FlatEvent& event);
bool MatchesAll(const std::vector<FieldTest>& conjunction, const FlatEvent& event);
// One field's test against the field's values (empty: the field is absent).
bool MatchesField(const FieldTest& test, const FlatEvent::Values& values);
bool MatchesValue(const Matcher& m, const ValueView& v);

// Parses JSON text; any failure (syntax, a number out of range, nesting
// deeper than kMaxJsonDepth) becomes InvalidArgument "<source>: line L,
// column C: …".
inline constexpr int kMaxJsonDepth = 100;
Result<nlohmann::json> ParseJson(std::string_view text, const std::string& source);
// The nesting check alone (ParseJson's first step).
Status CheckJsonNesting(std::string_view text, const std::string& source);

// "line L, column C" for a byte offset in text (1-based).
std::string LineColumn(std::string_view text, size_t byte_offset);

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_PATTERN_H_
