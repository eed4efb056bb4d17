// The rule mixes and events of rules_bench, shared with the agreement test
// (tests/rules/rule_mix_agreement_test.cc), so the bench's check that the
// index, the naive loop and both parsers agree also runs in CTest.
//
// kOutputHeavy is issue 4's mix (kept so its figures stay comparable): at
// 10,000 rules an event matches ~38 rules (the size rules of its bucket), so
// it measures producing matches more than finding them. kFewMatches is a
// tenant-per-rule mix where an event matches at most a few rules: distinct
// tenants' key prefixes and suffixes (in both EventBridge S3 shapes), exact
// custom sources and detail-types that S3 events never carry, a few numeric
// and anything-but rules. Its events are what the daemon renders from trail
// records (events::EventBridgeEvents: the CloudTrail shape and the S3 shape).
#ifndef BUCKETD_BENCH_RULES_MIX_H_
#define BUCKETD_BENCH_RULES_MIX_H_

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "events/records.h"
#include "rules/rule_set.h"

namespace bucketd::bench {

enum class RuleMix { kOutputHeavy, kFewMatches };

inline const char* MixName(RuleMix mix) { return mix == RuleMix::kOutputHeavy ? "output-heavy" : "few-matches"; }

inline nlohmann::json OutputHeavyPattern(int i, std::mt19937& rng) {
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

inline std::string OutputHeavyEvent(int i, std::mt19937& rng, int rules) {
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

// Tenant i's bucket: tenants share 50 buckets.
inline std::string TenantBucket(int tenant) { return "lake-" + std::to_string(tenant % 50); }

inline nlohmann::json FewMatchesPattern(int i, std::mt19937& rng) {
  std::string t = std::to_string(i);
  std::string bucket = TenantBucket(i);
  switch (i % 10) {
    case 5:
      return {{"source", {"aws.s3"}}, {"detail-type", {"Object Created"}},
              {"detail", {{"object", {{"key", {{{"suffix", ".t" + t + ".parquet"}}}}}}}}};
    case 6: {
      nlohmann::json params = {{"bucketName", {bucket}}, {"key", {{{"prefix", "tenant" + t + "/ct/"}}}}};
      nlohmann::json detail = {{"eventSource", {"s3.amazonaws.com"}}, {"eventName", {"PutObject", "CopyObject"}},
                               {"requestParameters", params}};
      return {{"source", {"aws.s3"}}, {"detail-type", {"AWS API Call via CloudTrail"}}, {"detail", detail}};
    }
    case 7:
      return {{"source", {"tenant" + t + ".app"}}, {"detail-type", {"Batch Finished", "Batch Failed"}}};
    case 8:
      if (i % 1000 == 8) {  // a few rules on the size alone: the range index
        int lo = static_cast<int>(rng() % 2000000);
        return {{"detail", {{"object", {{"size", {{{"numeric", {">=", lo, "<", lo + 500}}}}}}}}}};
      }
      return {{"detail", {{"object", {{"key", {{{"prefix", "tenant" + t + "/big/"}}}},
                                      {"size", {{{"numeric", {">", static_cast<int>(rng() % 2000000)}}}}}}}}}};
    case 9:
      if (i % 1000 == 9) {  // a few anything-but rules that only an exact value anchors
        return {{"detail-type", {"Object Deleted"}},
                {"detail", {{"bucket", {{"name", {{{"anything-but", {bucket, TenantBucket(i + 1)}}}}}}}}}};
      }
      return {{"detail", {{"object", {{"key", {{{"prefix", "tenant" + t + "/raw/"}}}}}},
                          {"reason", {{{"anything-but", {"DeleteObject"}}}}}}}};
    default:
      return {{"source", {"aws.s3"}}, {"detail-type", {"Object Created"}},
              {"detail", {{"bucket", {{"name", {bucket}}}},
                          {"object", {{"key", {{{"prefix", "tenant" + t + "/incoming/"}}}}}}}}};
  }
}

// The two events (CloudTrail shape, then S3 shape) of one trail record.
inline std::vector<std::string> FewMatchesEvents(int i, std::mt19937& rng, int rules) {
  int tenant = static_cast<int>(rng() % static_cast<unsigned>(std::max(rules, 1)));
  static const char* kDirs[] = {"incoming", "ct", "big", "raw", "archive"};
  std::string t = std::to_string(tenant);
  std::string key = rng() % 10 == 0 ? "exports/" + std::to_string(i) + ".t" + t + ".parquet"
                                    : "tenant" + t + "/" + kDirs[rng() % 5] + "/2026/11/" + std::to_string(i) + ".csv";
  events::TrailRecord r;
  r.seq = i + 1;
  r.event_id = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
  r.time_ns = 1795000000000000000 + static_cast<int64_t>(i) * 1000000;
  r.change.kind = rng() % 10 == 0 ? events::ChangeKind::kRemoved : events::ChangeKind::kCreated;
  r.change.bucket = rng() % 4 == 0 ? TenantBucket(tenant + 1) : TenantBucket(tenant);
  r.change.key = key;
  r.change.size = rng() % 2000000;
  r.change.etag = "\"d41d8cd98f00b204e9800998ecf8427e\"";
  r.change.mtime_ns = r.time_ns;
  r.change.uid = 1000;
  std::vector<std::string> out;
  for (const auto& e : events::EventBridgeEvents(r, events::TrailIdentity{})) out.push_back(e.dump());
  return out;
}

inline std::vector<rules::Rule> MixRules(RuleMix mix, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<rules::Rule> out;
  for (int i = 0; i < n; ++i) {
    rules::Rule r;
    r.name = "rule-" + std::to_string(i);
    r.pattern = *rules::CompilePattern(mix == RuleMix::kOutputHeavy ? OutputHeavyPattern(i, rng) : FewMatchesPattern(i, rng),
                                       r.name);
    out.push_back(std::move(r));
  }
  return out;
}

inline std::vector<std::string> MixEvents(RuleMix mix, int n_events, int n_rules, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (int i = 0; static_cast<int>(out.size()) < n_events; ++i) {
    if (mix == RuleMix::kOutputHeavy) {
      out.push_back(OutputHeavyEvent(i, rng, n_rules));
    } else {
      for (auto& e : FewMatchesEvents(i, rng, n_rules)) out.push_back(std::move(e));
    }
  }
  out.resize(static_cast<size_t>(n_events));
  return out;
}

}  // namespace bucketd::bench

#endif  // BUCKETD_BENCH_RULES_MIX_H_
