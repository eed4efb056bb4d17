// Flattening along a rule set's paths: the same answers as flattening the
// whole event, through both parsers, for the cases that make paths tricky
// (keys with dots, arrays of objects, repeated keys, values at a path's
// ancestor), and the bench's two rule mixes matched every way there is.
#include <gtest/gtest.h>

#include "bench/rules_mix.h"
#include "rules/field_paths.h"
#include "rules/pattern.h"
#include "rules/rule_set.h"

namespace bucketd::rules {
namespace {

TEST(FieldPathsTest, PathsGetSlotsAndTheTreeLeadsOnlyAlongThem) {
  FieldPaths paths;
  uint32_t key = paths.Add("detail.object.key");
  uint32_t source = paths.Add("source");
  EXPECT_EQ(paths.Add("detail.object.key"), key);
  EXPECT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths.Find("source"), source);
  EXPECT_EQ(paths.Find("detail.object"), FieldPaths::kNoSlot);  // an ancestor has no slot
  EXPECT_EQ(paths.Name(key), "detail.object.key");
  int32_t detail = paths.Child(FieldPaths::kRoot, "detail");
  ASSERT_NE(detail, FieldPaths::kNoNode);
  EXPECT_EQ(paths.SlotAt(detail), FieldPaths::kNoSlot);
  EXPECT_EQ(paths.Child(FieldPaths::kRoot, "version"), FieldPaths::kNoNode);
  EXPECT_EQ(paths.Child(FieldPaths::kRoot, "detailx"), FieldPaths::kNoNode);
  EXPECT_EQ(paths.SlotAt(paths.Child(paths.Child(detail, "object"), "key")), key);
  // A key with dots is the nested keys it spells.
  EXPECT_EQ(paths.SlotAt(paths.Child(FieldPaths::kRoot, "detail.object.key")), key);
  EXPECT_EQ(paths.SlotAt(paths.Child(detail, "object.key")), key);
  EXPECT_EQ(paths.Child(detail, "object.size"), FieldPaths::kNoNode);
  EXPECT_EQ(paths.Child(FieldPaths::kRoot, "source.x"), FieldPaths::kNoNode);
}

TEST(FieldPathsTest, LongNamesAndEmptyKeys) {
  FieldPaths paths;
  std::string long_name(100, 'k');
  uint32_t slot = paths.Add("a." + long_name);
  uint32_t empty = paths.Add("b..c");
  int32_t a = paths.Child(FieldPaths::kRoot, "a");
  EXPECT_EQ(paths.SlotAt(paths.Child(a, long_name)), slot);
  EXPECT_EQ(paths.Child(a, std::string(99, 'k')), FieldPaths::kNoNode);
  EXPECT_EQ(paths.Child(a, long_name + "k"), FieldPaths::kNoNode);
  EXPECT_EQ(paths.SlotAt(paths.Child(FieldPaths::kRoot, "a." + long_name)), slot);
  int32_t b = paths.Child(FieldPaths::kRoot, "b");
  EXPECT_EQ(paths.SlotAt(paths.Child(paths.Child(b, ""), "c")), empty);
  EXPECT_EQ(paths.SlotAt(paths.Child(FieldPaths::kRoot, "b..c")), empty);
}

// Each event flattened along the pattern's paths, by both parsers, and
// whole: the values of the pattern's fields are the same.
void ExpectFlatteningsAgree(const std::string& pattern_text, const std::string& event_text) {
  auto pattern = ParsePattern(pattern_text, "pattern");
  ASSERT_TRUE(pattern.ok()) << pattern.status().ToString();
  FieldPaths paths = PathsOf(*pattern);
  auto whole = FlatEvent::Parse(event_text, "event");
  auto lazy = FlatEvent::Parse(event_text, "event", &paths);
  auto lazy_slow = FlatEvent::ParseSlow(event_text, "event", &paths);
  ASSERT_TRUE(whole.ok() && lazy.ok() && lazy_slow.ok()) << event_text;
  EXPECT_EQ(*lazy, *lazy_slow) << event_text;
  auto fields = whole->Fields();
  for (uint32_t slot = 0; slot < paths.size(); ++slot) {
    const std::string& name = paths.Name(slot);
    auto in_whole = fields.find(name);
    auto lazy_fields = lazy->Fields();
    auto in_lazy = lazy_fields.find(name);
    ASSERT_EQ(in_whole == fields.end(), in_lazy == lazy_fields.end()) << name << " in " << event_text;
    if (in_whole != fields.end()) {
      EXPECT_EQ(in_whole->second, in_lazy->second) << name;
    }
  }
  EXPECT_EQ(Matches(*pattern, *whole), Matches(*pattern, *lazy)) << event_text;
}

TEST(FlatEventTest, FlatteningAlongPathsAgreesWithTheWholeEvent) {
  ExpectFlatteningsAgree(R"({"a":{"b":[1]}})", R"({"a.b": 1, "a": {"b": 2, "c": 3}, "z": {"a": {"b": 4}}})");
  ExpectFlatteningsAgree(R"({"a":{"b":[1]}})", R"({"a": [{"b": 1}, {"b": [2, 3]}, 4, {"c": 5}]})");
  ExpectFlatteningsAgree(R"({"a":[{"exists": true}], "a.b": [1]})", R"({"a": {"b": 1}})");  // a value only at a leaf
  ExpectFlatteningsAgree(R"({"a":[null], "b":[true]})", R"({"a": null, "b": [false, true], "c": [[[1]]]})");
  ExpectFlatteningsAgree(R"({"k":[{"prefix":""}]})", R"({"k": ""})");
}

TEST(FlatEventTest, ARepeatedKeyAmongThePathsIsTheLastOneAsInTheReferenceParser) {
  auto pattern = ParsePattern(R"({"a":[2]})", "p");
  ASSERT_TRUE(pattern.ok());
  FieldPaths paths = PathsOf(*pattern);
  auto e = FlatEvent::Parse(R"({"a": 1, "a": 2})", "event", &paths);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(Matches(*pattern, *e));
  EXPECT_EQ(e->Find("a").size(), 1u);
  // Repeated keys outside the paths cannot change a match and are not looked at.
  auto other = FlatEvent::Parse(R"({"a": 2, "z": 1, "z": 2})", "event", &paths);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(Matches(*pattern, *other));
}

TEST(FlatEventTest, ParseIntoReusesOneEventAndKeepsNothingOfThePreviousOne) {
  FieldPaths paths;
  uint32_t a = paths.Add("a");
  FlatEvent e;
  ASSERT_TRUE(FlatEvent::ParseInto(R"({"a": ["x", "y", "z"]})", "event", &paths, &e).ok());
  EXPECT_EQ(e.At(a).size(), 3u);
  ASSERT_TRUE(FlatEvent::ParseInto(R"({"b": 1})", "event", &paths, &e).ok());
  EXPECT_TRUE(e.At(a).empty());
  ASSERT_TRUE(FlatEvent::ParseInto(R"({"a": "w"})", "event", &paths, &e).ok());
  ASSERT_EQ(e.At(a).size(), 1u);
  EXPECT_EQ((*e.At(a).begin()).s, "w");
  Status bad = FlatEvent::ParseInto("{\"a\": tru}", "--event", &paths, &e);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("--event: line 1, column"), std::string::npos) << bad.message();
}

TEST(FlatEventTest, NestingOfExactlyTheLimitParsesAndOneMoreIsAnError) {
  auto nested = [](int depth) {
    std::string s = "{\"a\":";
    for (int i = 1; i < depth; ++i) s += "[";
    s += "1";
    for (int i = 1; i < depth; ++i) s += "]";
    return s + "}";
  };
  FieldPaths paths;
  paths.Add("a");
  auto at_limit = FlatEvent::Parse(nested(kMaxJsonDepth), "event", &paths);
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(at_limit->Find("a").size(), 1u);
  auto over = FlatEvent::Parse(nested(kMaxJsonDepth + 1), "event", &paths);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.status().message().find("nested deeper than 100 levels"), std::string::npos);
}

// The bench's agreement check on small mixes: the index on both parsers'
// flattenings and on a whole flattening (looked up by name) gives, for every
// event, the rules the naive loop over every pattern gives.
void ExpectMixAgrees(bench::RuleMix mix, int n_rules, int n_events) {
  RuleSet set(bench::MixRules(mix, n_rules, 7));
  size_t total = 0;
  for (const std::string& text : bench::MixEvents(mix, n_events, n_rules, 8)) {
    auto fast = FlatEvent::Parse(text, "event", &set.paths());
    auto slow = FlatEvent::ParseSlow(text, "event", &set.paths());
    auto whole = FlatEvent::Parse(text, "event");
    ASSERT_TRUE(fast.ok() && slow.ok() && whole.ok()) << text;
    std::vector<size_t> naive;
    for (size_t r = 0; r < set.rules().size(); ++r) {
      if (Matches(*set.rules()[r].pattern, *whole)) naive.push_back(r);
    }
    ASSERT_EQ(set.Match(*fast), naive) << text;
    ASSERT_EQ(set.Match(*slow), naive) << text;
    ASSERT_EQ(set.Match(*whole), naive) << text;
    total += naive.size();
  }
  EXPECT_GT(total, static_cast<size_t>(n_events) / 10) << "the mix really matches";
}

TEST(RuleMixAgreementTest, OutputHeavyMix) { ExpectMixAgrees(bench::RuleMix::kOutputHeavy, 300, 3000); }
TEST(RuleMixAgreementTest, FewMatchesMix) { ExpectMixAgrees(bench::RuleMix::kFewMatches, 300, 3000); }

}  // namespace
}  // namespace bucketd::rules
