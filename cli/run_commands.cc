// `bucketctl runs`, `runs show`, `dlq list`, `dlq redrive`, `replay`: read
// the invocation queue in the trail database (read-only beside a running
// daemon); redrive and replay leave a request there that bucketd applies
// (within half a second when it runs, else at its next start).
#include <chrono>
#include <map>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/time_format.h"
#include "runner/exec_run.h"
#include "runner/invocation.h"
#include "runner/invocation_json.h"

namespace bucketd::cli {

namespace {

using runner::Invocation;
using runner::InvocationStore;

std::string When(int64_t ns) { return ns == 0 ? "-" : events::Rfc3339Seconds(ns); }

std::string Duration(const Invocation& v) {
  if (v.started_ns == 0 || v.finished_ns < v.started_ns) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(v.finished_ns - v.started_ns) / 1e9);
  return buf;
}

std::string OneLine(std::string s, size_t max) {
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s.size() > max ? s.substr(0, max - 3) + "..." : s;
}

struct RunsFlags {
  std::string rule, state, since;
  int limit = 50;
  bool json = false;
};

Result<runner::RunQuery> Query(Context& ctx, const RunsFlags& f) {
  runner::RunQuery q;
  q.rule = f.rule;
  q.limit = f.limit;
  if (!f.state.empty()) {
    q.state = runner::ParseState(f.state);
    if (!q.state) {
      return Status::InvalidArgument("--state '" + f.state + "': expected pending, running, succeeded, failed or dead");
    }
  }
  if (!f.since.empty()) {
    ASSIGN_OR_RETURN(q.since_ns, ParseTimeSpec(f.since, ctx.env().clock().NowNanos()));
  }
  return q;
}

nlohmann::json ToJson(const Invocation& v) {
  return {{"id", v.id},          {"rule", v.rule},         {"target", v.target},
          {"function", v.function}, {"bucket", v.bucket},  {"key", v.key},
          {"state", runner::StateName(v.state)}, {"attempts", v.attempts},
          {"created", When(v.created_ns)}, {"started", When(v.started_ns)},
          {"finished", When(v.finished_ns)}, {"error", v.error},
          {"chain", v.chain}, {"hop", v.hop}, {"origin", v.origin}, {"replay", v.replay}};
}

void PrintTable(const std::vector<Invocation>& rows) {
  std::printf("%-24s  %-20s  %-10s  %-30s  %-9s  %8s  %-20s  %8s  %s\n", "ID", "RULE", "TARGET", "KEY",
              "STATE", "ATTEMPTS", "STARTED", "DURATION", "ERROR");
  for (const auto& v : rows) {
    std::printf("%-24s  %-20s  %-10s  %-30s  %-9s  %8d  %-20s  %8s  %s\n", v.id.c_str(),
                OneLine(v.rule, 20).c_str(), OneLine(v.target, 10).c_str(),
                OneLine(v.key.empty() ? "-" : v.key, 30).c_str(), std::string(runner::StateName(v.state)).c_str(),
                v.attempts, When(v.started_ns).c_str(), Duration(v).c_str(), OneLine(v.error, 80).c_str());
  }
}

// The running bucketd answers over its control socket; without one, the
// queue database is read directly.
Result<std::vector<Invocation>> FindRuns(Context& ctx, const runner::RunQuery& q) {
  nlohmann::json request = runner::QueryToJson(q);
  request["command"] = "runs";
  auto answer = ctx.Control(request);
  if (answer.ok()) {
    if (!answer->value("ok", false)) return Status::InvalidArgument(answer->value("error", std::string()));
    std::vector<Invocation> rows;
    for (const auto& j : (*answer)["runs"]) rows.push_back(runner::InvocationFromJson(j));
    return rows;
  }
  if (answer.status().code() != StatusCode::kUnavailable) return answer.status();
  ASSIGN_OR_RETURN(auto trail, ctx.OpenTrail(/*read_only=*/true));
  InvocationStore queue(trail->db());
  return queue.Find(q);
}

int List(Context& ctx, const RunsFlags& f, bool dead_only) {
  auto q = Query(ctx, f);
  if (!q.ok()) return Context::Fail(q.status());
  if (dead_only) q->state = runner::State::kDead;
  auto rows = FindRuns(ctx, *q);
  if (!rows.ok()) return Context::Fail(rows.status());
  if (f.json) {
    for (const auto& v : *rows) std::printf("%s\n", ToJson(v).dump().c_str());
  } else {
    PrintTable(*rows);
  }
  return 0;
}

struct RunDetail {
  Invocation run;
  std::vector<runner::AttemptRecord> attempts;
  std::map<int, std::vector<runner::OutputLine>> output;  // by attempt
};

Result<RunDetail> GetRun(Context& ctx, const std::string& id) {
  RunDetail d;
  auto answer = ctx.Control({{"command", "run"}, {"id", id}});
  if (answer.ok()) {
    if (!answer->value("ok", false)) return Status::NotFound(answer->value("error", std::string()));
    d.run = runner::InvocationFromJson((*answer)["run"]);
    for (const auto& a : (*answer)["attempts"]) {
      d.attempts.push_back(runner::AttemptFromJson(id, a));
      for (const auto& l : a["output"]) {
        d.output[a.value("attempt", 0)].push_back({l.value("ms", int64_t{0}), l.value("stream", 1), l.value("text", "")});
      }
    }
    return d;
  }
  if (answer.status().code() != StatusCode::kUnavailable) return answer.status();
  ASSIGN_OR_RETURN(auto trail, ctx.OpenTrail(/*read_only=*/true));
  InvocationStore queue(trail->db());
  ASSIGN_OR_RETURN(auto v, queue.Get(id));
  if (!v) return Status::NotFound("no invocation " + id);
  d.run = *v;
  ASSIGN_OR_RETURN(d.attempts, queue.Attempts(id));
  auto dir = ctx.StateDir();
  for (int a = 1; dir.ok() && a <= d.run.attempts; ++a) {
    uint64_t offset = 0;
    d.output[a] = runner::ReadOutput(*dir + "/runs/" + runner::RunDirName(id, a), &offset);
  }
  return d;
}

int Show(Context& ctx, const std::string& id) {
  auto d = GetRun(ctx, id);
  if (!d.ok()) return Context::Fail(d.status());
  const Invocation& inv = d->run;
  std::printf("%s\n", ToJson(inv).dump(2).c_str());
  std::printf("\ninput:\n%s\n", inv.input_error.empty() ? inv.input.c_str() : ("(none: " + inv.input_error + ")").c_str());
  auto event = nlohmann::json::parse(inv.event_json, nullptr, false);
  std::printf("\nevent:\n%s\n", event.is_discarded() ? inv.event_json.c_str() : event.dump(2).c_str());
  for (int a = 1; a <= inv.attempts; ++a) {
    std::string outcome = "(running or not recorded yet)";
    for (const auto& r : d->attempts) {
      if (r.attempt == a && !r.outcome.empty()) outcome = r.outcome + (r.error.empty() ? "" : ": " + r.error);
    }
    std::printf("\nattempt %d: %s\n", a, outcome.c_str());
    for (const auto& line : d->output[a]) {
      std::printf("  %s %s %s\n", FormatRfc3339Millis(line.unix_ms * 1'000'000).c_str(),
                  line.stream == 1 ? "stdout" : "stderr", line.text.c_str());
    }
  }
  return 0;
}

void PrintAnswer(const std::string& kind, const nlohmann::json& result) {
  if (kind == "cancel") {
    std::printf("cancelled: %s (was %s)\n", result.value("cancelled", "").c_str(), result.value("was", "").c_str());
  } else if (kind == "redrive") {
    std::printf("redriven: %d invocation(s)\n", result.value("redriven", 0));
  } else {
    std::printf("replay %s: %d record(s) in the window, %d new invocation(s)\n", result.value("name", "").c_str(),
                result.value("records", 0), result.value("invocations", 0));
  }
}

// Asks the running bucketd over its control socket: redrive and replay change
// what bucketd runs, so only bucketd carries them out. A bucketd that is
// starting gets up to `wait_seconds` to answer.
int Request(Context& ctx, const std::string& kind, const nlohmann::json& args, int wait_seconds) {
  nlohmann::json request = args;
  request["command"] = kind;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(std::max(0, wait_seconds));
  auto answer = ctx.Control(request);
  while (!answer.ok() && answer.status().code() == StatusCode::kUnavailable &&
         std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    answer = ctx.Control(request);
  }
  if (!answer.ok()) {
    if (answer.status().code() != StatusCode::kUnavailable) return Context::Fail(answer.status());
    return Context::Fail(Status::Unavailable("bucketd is not running (" + answer.status().message() +
                                             "); " + kind + " is carried out by a running bucketd only"));
  }
  if (!answer->value("ok", false)) {
    return Context::Fail(Status::InvalidArgument(answer->value("error", std::string("bucketd refused"))));
  }
  PrintAnswer(kind, *answer);
  return 0;
}

}  // namespace

std::vector<Command> RunCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"runs", "invocations, newest first: id, rule, target, key, state, attempts, started, duration, error",
                  [](CLI::App* app) {
                    auto f = std::make_shared<RunsFlags>();
                    app->add_option("--rule", f->rule, "only this rule's");
                    app->add_option("--state", f->state, "pending, running, succeeded, failed or dead");
                    app->add_option("--since", f->since, "queued at or after: RFC 3339 time or age (30s, 10m, 2h, 7d)");
                    app->add_option("--limit", f->limit, "at most this many (default 50)");
                    app->add_flag("--json", f->json, "one JSON object per line");
                    return [f](Context& ctx) { return List(ctx, *f, false); };
                  }});
  cmds.push_back({"show", "one invocation: its fields, input, event, attempts and their output lines",
                  [](CLI::App* app) {
                    auto id = std::make_shared<std::string>();
                    app->add_option("ID", *id, "invocation id")->required();
                    return [id](Context& ctx) { return Show(ctx, *id); };
                  }});
  cmds.push_back({"cancel", "stop an invocation's retries and end its running attempt (it becomes dead; dlq redrive runs it again)",
                  [](CLI::App* app) {
                    auto id = std::make_shared<std::string>();
                    app->add_option("ID", *id, "invocation id")->required();
                    return [id](Context& ctx) { return Request(ctx, "cancel", nlohmann::json{{"id", *id}}, 0); };
                  }});
  return cmds;
}

std::vector<Command> DlqCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"list", "dead invocations (out of attempts or permanently failed), newest first",
                  [](CLI::App* app) {
                    auto f = std::make_shared<RunsFlags>();
                    app->add_option("--rule", f->rule, "only this rule's");
                    app->add_option("--limit", f->limit, "at most this many (default 50)");
                    app->add_flag("--json", f->json, "one JSON object per line");
                    return [f](Context& ctx) { return List(ctx, *f, true); };
                  }});
  cmds.push_back({"redrive", "run dead invocations again with a fresh retry budget (all of them without IDs)",
                  [](CLI::App* app) {
                    auto ids = std::make_shared<std::vector<std::string>>();
                    auto wait = std::make_shared<int>(0);
                    app->add_option("ID", *ids, "invocation ids");
                    app->add_option("--wait", *wait, "seconds to wait for a starting bucketd to answer (default 0)");
                    return [ids, wait](Context& ctx) {
                      return Request(ctx, "redrive", nlohmann::json{{"ids", *ids}}, *wait);
                    };
                  }});
  return cmds;
}

std::vector<Command> ReplayCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"status", "what the running bucketd is doing (over its control socket)", [](CLI::App* app) {
                    auto json = std::make_shared<bool>(false);
                    app->add_flag("--json", *json, "the whole answer as JSON");
                    return [json](Context& ctx) {
                      auto a = ctx.Control({{"command", "status"}});
                      if (!a.ok()) return Context::Fail(a.status());
                      if (!a->value("ok", false)) return Context::Fail(Status::PermissionDenied(a->value("error", std::string())));
                      std::printf("%s\n", *json ? a->dump().c_str() : a->value("status", std::string()).c_str());
                      return 0;
                    };
                  }});
  cmds.push_back({"reload", "make the running bucketd re-read its rules and functions", [](CLI::App* app) {
                    (void)app;
                    return [](Context& ctx) {
                      auto a = ctx.Control({{"command", "reload"}});
                      if (!a.ok()) return Context::Fail(a.status());
                      if (!a->value("ok", false)) return Context::Fail(Status::InvalidArgument(a->value("error", std::string())));
                      std::printf("reloaded\n");
                      return 0;
                    };
                  }});
  cmds.push_back({"replay", "send the trail's events of a time window to one rule again (EventBridge replay)",
                  [](CLI::App* app) {
                    struct Flags {
                      std::string rule, from, to, name;
                      int wait = 0;
                    };
                    auto f = std::make_shared<Flags>();
                    app->add_option("--rule", f->rule, "the rule")->required();
                    app->add_option("--from", f->from, "window start: RFC 3339 time or age (2h)")->required();
                    app->add_option("--to", f->to, "window end, exclusive (default now)");
                    app->add_option("--name", f->name, "replay name; the same name replays once (default: replay-<time>)");
                    app->add_option("--wait", f->wait, "seconds to wait for a starting bucketd to answer (default 0)");
                    return [f](Context& ctx) {
                      int64_t now = ctx.env().clock().NowNanos();
                      auto from = ParseTimeSpec(f->from, now);
                      if (!from.ok()) return Context::Fail(from.status());
                      Result<int64_t> to = now;
                      if (!f->to.empty()) to = ParseTimeSpec(f->to, now);
                      if (!to.ok()) return Context::Fail(to.status());
                      if (*to <= *from) return Context::Fail(Status::InvalidArgument("--to must be after --from"));
                      std::string name = f->name.empty() ? "replay-" + std::to_string(now / 1'000'000) : f->name;
                      return Request(ctx, "replay",
                                     nlohmann::json{{"rule", f->rule}, {"from_ns", *from}, {"to_ns", *to}, {"name", name}},
                                     f->wait);
                    };
                  }});
  return cmds;
}

}  // namespace bucketd::cli
