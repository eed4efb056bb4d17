// The compiled rule index gives exactly what checking every rule gives.
#include <gtest/gtest.h>

#include <random>

#include "rules/rule_set.h"

namespace bucketd::rules {
namespace {

TEST(RuleSetTest, IndexAgreesWithLoopOverRulesOnGeneratedRulesAndEvents) {
  std::mt19937 rng(42);
  const std::vector<std::string> prefixes = {"LOGS/", "DATA/RAW/", "DATA/", "ALGORITHM/EVAL/", "x"};
  std::vector<Rule> rules;
  for (int i = 0; i < 400; ++i) {
    nlohmann::json p;
    switch (i % 6) {
      case 0: p = {{"detail", {{"object", {{"key", {{{"prefix", prefixes[rng() % prefixes.size()] + std::to_string(rng() % 5)}}}}}}}}}; break;
      case 1: p = {{"detail", {{"bucket", {{"name", {"b" + std::to_string(rng() % 7)}}}}}}, {"source", {"aws.s3"}}}; break;
      case 2: p = {{"detail", {{"object", {{"size", {{{"numeric", {">", static_cast<int>(rng() % 100)}}}}}}}}}}; break;
      case 3: p = {{"$or", {{{"detail-type", {"Object Deleted"}}}, {{"detail", {{"object", {{"key", {{{"suffix", ".csv"}}}}}}}}}}}}; break;
      case 4: p = {{"detail", {{"object", {{"key", {{{"wildcard", "*/" + std::to_string(rng() % 5) + "*"}}}}}}}}}; break;
      case 5: p = {{"detail", {{"bucket", {{"name", {{{"anything-but", "b" + std::to_string(rng() % 7)}}}}}}}}}; break;
    }
    Rule r;
    r.name = "r" + std::to_string(i);
    auto compiled = CompilePattern(p, r.name);
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    r.pattern = *compiled;
    rules.push_back(std::move(r));
  }
  RuleSet set(rules);
  int total_matches = 0;
  for (int e = 0; e < 2000; ++e) {
    std::string key = prefixes[rng() % prefixes.size()] + std::to_string(rng() % 5) + "/" +
                      std::to_string(rng() % 5) + (rng() % 2 ? ".csv" : ".json");
    nlohmann::json ev = {{"source", "aws.s3"},
                         {"detail-type", rng() % 4 ? "Object Created" : "Object Deleted"},
                         {"detail", {{"bucket", {{"name", "b" + std::to_string(rng() % 7)}}},
                                     {"object", {{"key", key}, {"size", static_cast<int>(rng() % 120)}}}}}};
    FlatEvent fe = FlatEvent::FromJson(ev);
    std::vector<size_t> naive;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (Matches(*rules[i].pattern, fe)) naive.push_back(i);
    }
    ASSERT_EQ(set.Match(fe), naive) << ev.dump();
    total_matches += static_cast<int>(naive.size());
  }
  EXPECT_GT(total_matches, 2000);  // the generated cases really match things
}

// Numeric matchers on their own are filed in a range index: every bound,
// open or closed, as the matcher says.
TEST(RuleSetTest, NumericRangesFindExactlyTheRulesWhoseBoundsHoldTheValue) {
  const char* patterns[] = {
      R"({"n":[{"numeric":[">",10]}]})",        R"({"n":[{"numeric":[">=",10]}]})",
      R"({"n":[{"numeric":["<",10]}]})",        R"({"n":[{"numeric":["<=",10]}]})",
      R"({"n":[{"numeric":[">",0,"<=",5]}]})",  R"({"n":[{"numeric":["=",7.5]}]})",
      R"({"n":[{"numeric":[">=",-3,"<",-1]}]})", R"({"n":[{"numeric":[">",100]}, 3]})",
  };
  std::vector<Rule> rules;
  for (const char* p : patterns) {
    Rule r;
    r.name = p;
    r.pattern = *ParsePattern(p, "p");
    rules.push_back(std::move(r));
  }
  RuleSet set(rules);
  for (double n : {-5.0, -3.0, -2.0, -1.0, 0.0, 3.0, 5.0, 7.5, 9.999, 10.0, 10.001, 100.0, 1e9}) {
    nlohmann::json ev = {{"n", n}};
    FlatEvent whole = FlatEvent::FromJson(ev);
    std::vector<size_t> naive;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (Matches(*rules[i].pattern, whole)) naive.push_back(i);
    }
    EXPECT_EQ(set.Match(FlatEvent::FromJson(ev, &set.paths())), naive) << n;
  }
  EXPECT_EQ(set.Match(FlatEvent::FromJson({{"n", 10}}, &set.paths())), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(set.Match(FlatEvent::FromJson({{"n", "10"}}, &set.paths())), std::vector<size_t>{});
}

}  // namespace
}  // namespace bucketd::rules
