#include "daemon/runner_commands.h"

#include <spdlog/spdlog.h>

namespace bucketd::daemon {

namespace {

Result<nlohmann::json> Redrive(runner::Runner& runner, const nlohmann::json& args) {
  std::vector<std::string> ids = args.value("ids", std::vector<std::string>());
  ASSIGN_OR_RETURN(int n, runner.Redrive(ids));
  return nlohmann::json{{"redriven", n}};
}

// EventBridge replay: the trail's records in [from, to) go to one rule again.
Result<nlohmann::json> Replay(events::Trail& trail, rules::Router& router, runner::Runner& runner,
                              const nlohmann::json& args) {
  std::string rule_name = args.value("rule", "");
  std::string name = args.value("name", "");
  int64_t from = args.value("from_ns", int64_t{0}), to = args.value("to_ns", int64_t{0});
  auto rules = router.shared_rules();
  const rules::Rule* rule = nullptr;
  if (rules) {
    for (const auto& r : rules->rules()) {
      if (r.name == rule_name) rule = &r;
    }
  }
  if (rule == nullptr) return Status::NotFound("no rule named '" + rule_name + "' is loaded");
  if (!rule->pattern) return Status::InvalidArgument("rule '" + rule_name + "' has no event pattern (a schedule is not replayed)");
  int matches = 0, records = 0;
  events::TrailQuery q;
  q.since_ns = from;
  q.limit = 1000;
  for (;;) {
    ASSIGN_OR_RETURN(auto batch, trail.Find(q));
    std::vector<events::TrailRecord> window;
    for (auto& r : batch) {
      if (r.time_ns < to) window.push_back(std::move(r));
    }
    records += static_cast<int>(window.size());
    RETURN_IF_ERROR(runner.queue().Begin());
    auto n = router.Replay(window, *rule, name);
    Status s = n.ok() ? runner.queue().Commit() : n.status();
    if (!s.ok()) {
      runner.queue().Rollback();
      return s;
    }
    matches += *n;
    if (batch.size() < static_cast<size_t>(q.limit)) break;
    q.after_seq = batch.back().seq;
  }
  runner.OnDurable();
  return nlohmann::json{{"records", records}, {"invocations", matches}, {"name", name}};
}

}  // namespace

nlohmann::json RunnerRequest(const std::string& kind, const nlohmann::json& args, events::Trail& trail,
                             rules::Router& router, runner::Runner& runner) {
  Result<nlohmann::json> result = Status::InvalidArgument("unknown command '" + kind + "'");
  if (!args.is_object()) {
    result = Status::InvalidArgument("command arguments are not a JSON object");
  } else if (kind == "redrive") {
    result = Redrive(runner, args);
  } else if (kind == "replay") {
    result = Replay(trail, router, runner, args);
  }
  return result.ok() ? *result : nlohmann::json{{"error", result.status().message()}};
}

void ApplyRunnerCommands(Env& env, events::Trail& trail, rules::Router& router,
                         runner::Runner& runner) {
  auto pending = runner.queue().PendingCommands();
  if (!pending.ok()) {
    spdlog::error("runner commands: {}", pending.status().message());
    return;
  }
  for (const auto& c : *pending) {
    nlohmann::json out = RunnerRequest(c.kind, nlohmann::json::parse(c.args, nullptr, false), trail, router, runner);
    spdlog::info("{} {}: {}", c.kind, c.args, out.dump());
    Status s = runner.queue().FinishCommand(c.n, out.dump(), env.clock().NowNanos());
    if (!s.ok()) spdlog::error("runner commands: {}", s.message());
  }
}

}  // namespace bucketd::daemon
