// Rule matching benchmark (issues 4 and 16). Prints its figures.
//
//   rules_bench [--events N] [--max-rules N] [--rules N] [--mix output-heavy|few-matches]
//
// Two rule mixes (bench/rules_mix.h: issue 4's output-heavy one, and one
// where an event matches at most a few rules) at 1, 100, 10,000 and 100,000
// rules, events as JSON text. For each: events/s parsing the text along the
// set's paths with simdjson and matching, the same with nlohmann-json,
// parsing alone, simdjson's DOM parse alone (the floor under any strict
// parse: the text copied to a padded buffer and parsed, nothing read out of
// it), matching events already flattened, and a naive loop over
// every rule's pattern (the in-run baseline, on a slice of the events), plus
// the heap the patterns and the compiled index take. Single-threaded. Exits
// non-zero if the index (on both parsers' flattenings and on a whole
// flattening looked up by name) and the naive loop disagree on any event.
#include <malloc.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/rules_mix.h"

using namespace bucketd;
using namespace bucketd::rules;
using SteadyClock = std::chrono::steady_clock;

namespace {

double HeapMiB() { return static_cast<double>(mallinfo2().uordblks) / (1 << 20); }

double Secs(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Whether every way of matching gives the same rules for every event.
bool Agree(const RuleSet& set, const std::vector<std::string>& texts, size_t naive_n) {
  for (size_t i = 0; i < texts.size(); ++i) {
    auto fast = set.Match(*FlatEvent::Parse(texts[i], "bench", &set.paths()));
    auto slow = set.Match(*FlatEvent::ParseSlow(texts[i], "bench", &set.paths()));
    FlatEvent whole = *FlatEvent::Parse(texts[i], "bench");
    auto by_name = set.Match(whole);
    if (fast != slow || fast != by_name) {
      std::fprintf(stderr, "rules_bench: the index disagrees with itself on event %zu: %s\n", i, texts[i].c_str());
      return false;
    }
    if (i >= naive_n) continue;
    std::vector<size_t> naive;
    for (size_t r = 0; r < set.rules().size(); ++r) {
      if (Matches(*set.rules()[r].pattern, whole)) naive.push_back(r);
    }
    if (naive != fast) {
      std::fprintf(stderr, "rules_bench: index and naive loop disagree on event %zu (%zu vs %zu rules): %s\n", i,
                   fast.size(), naive.size(), texts[i].c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int n_events = 200000, max_rules = 100000, only_rules = 0, repeat = 1;
  std::string only_mix;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--events") n_events = std::atoi(argv[i + 1]);
    else if (flag == "--max-rules") max_rules = std::atoi(argv[i + 1]);
    else if (flag == "--rules") only_rules = std::atoi(argv[i + 1]);
    else if (flag == "--mix") only_mix = argv[i + 1];
    else if (flag == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
  }
  for (bench::RuleMix mix : {bench::RuleMix::kOutputHeavy, bench::RuleMix::kFewMatches}) {
    if (!only_mix.empty() && only_mix != bench::MixName(mix)) continue;
    for (int n_rules : {1, 100, 10000, 100000}) {
      if (n_rules > max_rules || (only_rules != 0 && n_rules != only_rules)) continue;
      double heap0 = HeapMiB();
      std::vector<Rule> rules = bench::MixRules(mix, n_rules, 7);
      double heap1 = HeapMiB();
      RuleSet set(std::move(rules));
      double heap2 = HeapMiB();
      std::vector<std::string> texts = bench::MixEvents(mix, n_events, n_rules, 8);
      size_t bytes = 0;
      for (const auto& t : texts) bytes += t.size();
      std::vector<FlatEvent> flats;
      for (const auto& t : texts) flats.push_back(*FlatEvent::Parse(t, "bench", &set.paths()));

      // Each figure is the fastest of `repeat` passes (this machine's speed
      // drifts within a run).
      auto fastest = [&](auto&& pass) {
        double best = 1e300;
        for (int r = 0; r < repeat; ++r) {
          auto p0 = SteadyClock::now();
          pass();
          best = std::min(best, Secs(p0, SteadyClock::now()));
        }
        return best;
      };
      size_t matches_slow = 0, matches = 0, matches_flat = 0, parsed = 0;
      double slow_secs = fastest([&] {
        matches_slow = 0;
        for (const auto& t : texts) matches_slow += set.Match(*FlatEvent::ParseSlow(t, "bench", &set.paths())).size();
      });
      // As a loop over many events runs: parsed into one event's buffers,
      // matched into one list.
      FlatEvent scratch;
      std::vector<size_t> matched;
      const std::string source = "bench";
      double fast_secs = fastest([&] {
        matches = 0;
        for (const auto& t : texts) {
          (void)FlatEvent::ParseInto(t, source, &set.paths(), &scratch);
          set.Match(scratch, &matched);
          matches += matched.size();
        }
      });
      double match_secs = fastest([&] {
        matches_flat = 0;
        for (const auto& f : flats) {
          set.Match(f, &matched);
          matches_flat += matched.size();
        }
      });
      size_t floor_ok = 0;
      double floor_secs = fastest([&] {
        thread_local simdjson::dom::parser parser;
        thread_local std::string padded;
        for (const auto& t : texts) {
          padded.reserve(t.size() + simdjson::SIMDJSON_PADDING);
          padded.assign(t);
          simdjson::dom::element doc;
          floor_ok += parser.parse(padded.data(), padded.size(), false).get(doc) == simdjson::SUCCESS;
        }
      });
      double parse_secs = fastest([&] {
        for (const auto& t : texts) parsed += FlatEvent::ParseInto(t, source, &set.paths(), &scratch).ok();
      });
      // The naive loop is slow with many rules: time a slice of the events.
      size_t naive_n = std::min(texts.size(), n_rules >= 100000 ? size_t{100} : n_rules >= 10000 ? size_t{1000} : texts.size());
      size_t naive_matches = 0;
      auto n0 = SteadyClock::now();
      for (size_t i = 0; i < naive_n; ++i) {
        for (const auto& r : set.rules()) naive_matches += Matches(*r.pattern, flats[i]);
      }
      auto n1 = SteadyClock::now();
      if (matches != matches_slow || matches != matches_flat || parsed != texts.size() * static_cast<size_t>(repeat) ||
          floor_ok != parsed ||
          !Agree(set, texts, naive_n)) {
        std::fprintf(stderr, "rules_bench: %s mix at %d rules: the ways of matching disagree\n", bench::MixName(mix),
                     n_rules);
        return 1;
      }
      double n = static_cast<double>(texts.size());
      double match_only = n / match_secs, naive = static_cast<double>(naive_n) / Secs(n0, n1);
      std::printf("%-12s %6d rules: simdjson parse+match %9.0f ev/s | nlohmann parse+match %8.0f ev/s | "
                  "simdjson parse only %9.0f ev/s | simdjson DOM alone %9.0f ev/s | match only %9.0f ev/s | naive loop %9.0f ev/s | "
                  "index/naive %.0fx | %.2f matches/event | %zu paths | heap: patterns %.1f MiB, index %.1f MiB | "
                  "%.0f bytes/event\n",
                  bench::MixName(mix), n_rules, n / fast_secs, n / slow_secs, n / parse_secs, n / floor_secs, match_only,
                  naive, match_only / naive, static_cast<double>(matches) / n, static_cast<size_t>(set.paths().size()),
                  heap1 - heap0, heap2 - heap1, static_cast<double>(bytes) / n);
      std::fflush(stdout);
    }
  }
  return 0;
}
