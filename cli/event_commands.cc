// `bucketctl events …`: reads the trail database directly (read-only, beside
// a running daemon).
#include <signal.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "common/text.h"
#include "common/time_format.h"
#include "events/trail.h"

namespace bucketd::cli {

namespace {

struct TrailFlags {
  std::string bucket, prefix, key, since;
  bool follow = false;
  bool json = false;
};

// The trail, the query the flags ask for, and how records are rendered.
struct TrailReader {
  std::unique_ptr<events::Trail> trail;
  events::TrailQuery query;
  events::TrailIdentity identity;
};

Result<TrailReader> OpenReader(Context& ctx, const TrailFlags& f) {
  TrailReader r;
  ASSIGN_OR_RETURN(r.trail, ctx.OpenTrail(/*read_only=*/true));
  r.query.bucket = f.bucket;
  r.query.prefix = f.prefix;
  r.query.key = f.key;
  if (!f.since.empty()) {
    ASSIGN_OR_RETURN(r.query.since_ns, ParseTimeSpec(f.since, ctx.env().clock().NowNanos()));
  }
  ASSIGN_OR_RETURN(r.identity, r.trail->Identity());
  return r;
}

void PrintRecord(const events::TrailRecord& r, const events::TrailIdentity& id, bool json) {
  if (json) {
    std::printf("%s\n", events::CloudTrailRecord(r, id).dump().c_str());
  } else {
    std::printf("%s %-12s s3://%s/%s", events::Rfc3339Seconds(r.time_ns).c_str(),
                r.EventName().c_str(), r.change.bucket.c_str(), PrintableText(r.change.key).c_str());
    if (r.change.kind == events::ChangeKind::kCreated) {
      std::printf(" %llu %s", static_cast<unsigned long long>(r.change.size), r.change.etag.c_str());
    }
    std::printf("\n");
  }
  std::fflush(stdout);
}

volatile sig_atomic_t g_stop = 0;

int Tail(Context& ctx, const TrailFlags& f) {
  auto reader = OpenReader(ctx, f);
  if (!reader.ok()) return Context::Fail(reader.status());
  events::Trail& trail = *reader->trail;
  events::TrailQuery* q = &reader->query;
  const events::TrailIdentity* id = &reader->identity;
  if (f.follow) {
    struct sigaction sa = {};
    sa.sa_handler = [](int) { g_stop = 1; };
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  for (;;) {
    auto records = trail.Find(*q);
    if (!records.ok()) return Context::Fail(records.status());
    for (const auto& r : *records) PrintRecord(r, *id, f.json);
    if (!records->empty()) q->after_seq = records->back().seq;
    if (static_cast<int>(records->size()) == q->limit) continue;
    if (!f.follow || g_stop) return 0;
    // A person watching: a fifth of a second is as good as immediate.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (g_stop) return 0;
  }
}

int Lookup(Context& ctx, const TrailFlags& f) {
  auto reader = OpenReader(ctx, f);
  if (!reader.ok()) return Context::Fail(reader.status());
  events::Trail& trail = *reader->trail;
  events::TrailQuery* q = &reader->query;
  const events::TrailIdentity* id = &reader->identity;
  nlohmann::json events = nlohmann::json::array();
  for (;;) {
    auto records = trail.Find(*q);
    if (!records.ok()) return Context::Fail(records.status());
    for (const auto& r : *records) {
      nlohmann::json rec = events::CloudTrailRecord(r, *id);
      events.push_back({{"EventId", r.event_id},
                        {"EventName", r.EventName()},
                        {"ReadOnly", "false"},
                        {"EventTime", rec["eventTime"]},
                        {"EventSource", "s3.amazonaws.com"},
                        {"Username", rec["userIdentity"]["userName"]},
                        {"Resources", {{{"ResourceType", "AWS::S3::Object"},
                                        {"ResourceName", r.change.bucket + "/" + r.change.key}}}},
                        {"CloudTrailEvent", rec.dump()}});
    }
    if (static_cast<int>(records->size()) < q->limit) break;
    q->after_seq = records->back().seq;
  }
  // lookup-events lists the newest first.
  std::reverse(events.begin(), events.end());
  std::printf("%s\n", nlohmann::json{{"Events", events}}.dump(4).c_str());
  return 0;
}

}  // namespace

std::vector<Command> EventCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"tail", "print trail records (like aws logs tail); --follow keeps printing",
                  [](CLI::App* app) {
                    auto f = std::make_shared<TrailFlags>();
                    app->add_flag("-f,--follow", f->follow, "keep printing new records");
                    app->add_option("--bucket", f->bucket, "only this bucket");
                    app->add_option("--prefix", f->prefix, "only keys starting with this");
                    app->add_option("--since", f->since, "RFC 3339 time or age (30s, 10m, 2h, 7d)");
                    app->add_flag("--json", f->json, "one CloudTrail record (JSON) per line");
                    return [f](Context& ctx) { return Tail(ctx, *f); };
                  }});
  cmds.push_back({"lookup", "the records of one key, newest first (like cloudtrail lookup-events)",
                  [](CLI::App* app) {
                    auto f = std::make_shared<TrailFlags>();
                    app->add_option("--key", f->key, "the object key")->required();
                    app->add_option("--bucket", f->bucket, "only this bucket");
                    app->add_option("--since", f->since, "RFC 3339 time or age (30s, 10m, 2h, 7d)");
                    return [f](Context& ctx) { return Lookup(ctx, *f); };
                  }});
  return cmds;
}

}  // namespace bucketd::cli
