// Rule matching benchmark (issue 4). Prints its figures.
//
//   rules_bench [--events N]
//
// Realistic S3 "Object Created" events (varied buckets and keys) against 1,
// 100 and 10,000 rules: prefix rules on keys (most), plus suffix, wildcard,
// numeric, anything-but and $or rules. For each rule count: events/s with
// the compiled index (parsing the event's JSON text + matching, and matching
// an already flattened event), and a naive loop over every rule's pattern as
// the in-run baseline. Single-threaded.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "rules/rule_set.h"

using namespace bucketd;
using namespace bucketd::rules;
using SteadyClock = std::chrono::steady_clock;

namespace {

nlohmann::json RulePattern(int i, std::mt19937& rng) {
  std::string bucket = "bucket-" + std::to_string(rng() % 20);
  switch (i % 10) {
    case 7: return {{"source", {"aws.s3"}}, {"detail", {{"object", {{"key", {{{"suffix", "." + std::to_string(i) + ".csv"}}}}}}}}};
    case 8: return {{"detail", {{"bucket", {{"name", {bucket}}}}, {"object", {{"size", {{{"numeric", {">", static_cast<int>(rng() % 1000000)}}}}}}}}}};
    case 9: return {{"$or", {{{"detail", {{"object", {{"key", {{{"wildcard", "tenant" + std::to_string(i) + "/*/x.json"}}}}}}}}},
                             {{"detail", {{"bucket", {{"name", {{{"anything-but", {bucket}}}}}}}, {"reason", {"CopyObject" + std::to_string(i)}}}}}}}};
    default:
      return {{"source", {"aws.s3"}}, {"detail-type", {"Object Created"}},
              {"detail", {{"bucket", {{"name", {bucket}}}},
                          {"object", {{"key", {{{"prefix", "tenant" + std::to_string(i) + "/"}}}}}}}}};
  }
}

std::string EventText(int i, std::mt19937& rng, int rules) {
  int tenant = static_cast<int>(rng() % static_cast<unsigned>(std::max(rules, 1)));
  nlohmann::json e = {
      {"version", "0"}, {"id", "ev-" + std::to_string(i)}, {"detail-type", "Object Created"},
      {"source", "aws.s3"}, {"account", "000000000000"}, {"time", "2026-11-22T09:00:00Z"},
      {"region", "local"}, {"resources", {"arn:aws:s3:::bucket-" + std::to_string(rng() % 20)}},
      {"detail", {{"version", "0"},
                  {"bucket", {{"name", "bucket-" + std::to_string(rng() % 20)}}},
                  {"object", {{"key", "tenant" + std::to_string(tenant) + "/2026/11/" + std::to_string(i) + ".csv"},
                              {"size", static_cast<int>(rng() % 2000000)},
                              {"etag", "d41d8cd98f00b204e9800998ecf8427e"},
                              {"sequencer", "0000000000000001"}}},
                  {"request-id", "1"}, {"requester", "000000000000"},
                  {"source-ip-address", "127.0.0.1"}, {"reason", "PutObject"}}}};
  return e.dump();
}

}  // namespace

int main(int argc, char** argv) {
  int n_events = 100000;
  if (argc == 3 && std::string(argv[1]) == "--events") n_events = std::atoi(argv[2]);
  for (int n_rules : {1, 100, 10000}) {
    std::mt19937 rng(7);
    std::vector<Rule> rules;
    for (int i = 0; i < n_rules; ++i) {
      Rule r;
      r.name = "rule-" + std::to_string(i);
      r.pattern = *CompilePattern(RulePattern(i, rng), r.name);
      rules.push_back(std::move(r));
    }
    RuleSet set(rules);
    std::vector<std::string> texts;
    for (int i = 0; i < n_events; ++i) texts.push_back(EventText(i, rng, n_rules));
    std::vector<FlatEvent> flats;
    for (const auto& t : texts) flats.push_back(FlatEvent::FromJson(nlohmann::json::parse(t)));

    size_t matches = 0, matches_slow = 0;
    auto s0 = SteadyClock::now();
    for (const auto& t : texts) matches_slow += set.Match(*FlatEvent::ParseSlow(t, "bench")).size();
    auto t0 = SteadyClock::now();
    for (const auto& t : texts) matches += set.Match(*FlatEvent::Parse(t, "bench")).size();
    auto t1 = SteadyClock::now();
    size_t matches2 = 0;
    for (const auto& f : flats) matches2 += set.Match(f).size();
    auto t2 = SteadyClock::now();
    // The naive loop is slow at 10,000 rules: time a slice of the events.
    int naive_n = n_rules >= 10000 ? std::max(n_events / 100, 100) : n_events;
    size_t naive_matches = 0;
    auto t3 = SteadyClock::now();
    for (int i = 0; i < naive_n; ++i) {
      for (const auto& r : rules) naive_matches += Matches(*r.pattern, flats[static_cast<size_t>(i)]);
    }
    auto t4 = SteadyClock::now();
    size_t index_slice = 0;
    for (int i = 0; i < naive_n; ++i) index_slice += set.Match(flats[static_cast<size_t>(i)]).size();
    if (index_slice != naive_matches || matches != matches2 || matches != matches_slow) {
      std::fprintf(stderr, "rules_bench: index and naive loop disagree (%zu vs %zu)\n", index_slice, naive_matches);
      return 1;
    }
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    double parse_slow = n_events / secs(s0, t0);
    double parse_match = n_events / secs(t0, t1), match_only = n_events / secs(t1, t2);
    double naive = naive_n / secs(t3, t4);
    std::printf("%5d rules: simdjson parse+match %9.0f events/s | nlohmann parse+match %9.0f "
                "events/s | match only %10.0f events/s | naive loop (match only) %10.0f events/s | "
                "index/naive %.0fx | %.2f matches/event\n",
                n_rules, parse_match, parse_slow, match_only, naive, match_only / naive,
                static_cast<double>(matches) / n_events);
  }
  return 0;
}
