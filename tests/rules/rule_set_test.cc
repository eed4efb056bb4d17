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

}  // namespace
}  // namespace bucketd::rules
