#include "daemon/daemon.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <ctime>

#include <spdlog/spdlog.h>

#include "common/file_util.h"
#include "daemon/config_file.h"
#include "daemon/config_permissions.h"
#include "daemon/control_socket.h"
#include "daemon/logging.h"
#include "daemon/runner_commands.h"
#include "daemon/signals_linux.h"
#include "events/event_plane.h"
#include "events/trail.h"
#include "events/watcher.h"
#include "rules/router.h"
#include "rules/scheduler.h"
#include "runner/invocation_json.h"
#include "runner/runner.h"
#include "stages/stages.h"
#include "daemon/state_dir.h"
#include "store/store.h"

namespace bucketd::daemon {

namespace {
constexpr int64_t kCommandPollNs = 500'000'000;  // bucketctl's redrive/replay requests
constexpr int64_t kRatePeriodNs = 10'000'000'000;  // events/s in the status line
}  // namespace

Status ResolveConfig(Config* c) {
  if (c->root.empty()) c->root = "/srv/bucketd";
  while (c->root.size() > 1 && c->root.back() == '/') c->root.pop_back();
  if (c->config_dir.empty()) {
    // Under systemd ConfigurationDirectory=; else /etc/bucketd when there is one.
    struct stat st;
    c->config_dir = SystemdDirectory("CONFIGURATION_DIRECTORY");
    if (c->config_dir.empty() && ::stat("/etc/bucketd", &st) == 0 && S_ISDIR(st.st_mode)) {
      c->config_dir = "/etc/bucketd";
    }
  }
  if (c->state_dir.empty()) c->state_dir = SystemdDirectory("STATE_DIRECTORY");
  if (c->state_dir.empty()) c->state_dir = c->root + "/.bucketd";
  if (c->rules_dir.empty() && !c->config_dir.empty()) c->rules_dir = c->config_dir + "/rules.d";
  if (c->functions_dir.empty() && !c->config_dir.empty()) c->functions_dir = c->config_dir + "/functions.d";
  if (c->socket.empty()) {
    std::string runtime = SystemdDirectory("RUNTIME_DIRECTORY");
    c->socket = (runtime.empty() ? c->state_dir : runtime) + "/control.sock";
  }
  if (c->supervisor.empty()) {
    // Installed in <prefix>/lib/bucketd/, built beside bucketd.
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string dir = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string();
    dir = dir.substr(0, dir.rfind('/'));
    for (const std::string& candidate :
         {dir + "/bucketd-supervisor", dir + "/../lib/bucketd/bucketd-supervisor"}) {
      if (::access(candidate.c_str(), X_OK) == 0) {
        c->supervisor = candidate;
        break;
      }
    }
    if (c->supervisor.empty()) {
      return Status::InvalidArgument("bucketd-supervisor not found beside bucketd (" + dir +
                                     ") or in " + dir + "/../lib/bucketd/");
    }
  }
  return Status::OK();
}

namespace {

void LogFromEvents(events::LogLevel level, const std::string& message) {
  switch (level) {
    case events::LogLevel::kDebug: spdlog::debug("{}", message); break;
    case events::LogLevel::kInfo: spdlog::info("{}", message); break;
    case events::LogLevel::kWarning: spdlog::warn("{}", message); break;
    case events::LogLevel::kError: spdlog::error("{}", message); break;
  }
}

// What `systemctl status` shows. `events_per_second` is over the last
// status period (negative: not measured yet).
std::string StatusLine(const events::EventPlaneStats& s, const runner::RunnerStats& r,
                       double events_per_second = -1) {
  char rate[32] = "";
  if (events_per_second >= 0) std::snprintf(rate, sizeof rate, " (%.1f/s)", events_per_second);
  std::string line = "watching " + std::to_string(s.watches) + " directories, " +
                     std::to_string(s.records) + " events recorded" + rate + "; " + std::to_string(r.running) +
                     " running, " + std::to_string(r.queued) + " queued, " +
                     std::to_string(r.succeeded) + " succeeded, " + std::to_string(r.dead) + " dead";
  if (s.degraded) line += ", NOT TAKING NEW WORK (trail appends fail)";
  if (s.watch_limited) line += ", watch limit reached (rescanning)";
  if (!s.last_error.empty()) line += "; last error: " + s.last_error;
  if (!r.last_error.empty()) line += "; last failed invocation: " + r.last_error;
  return line;
}

void LogFromRunner(events::LogLevel level, const runner::LogFields& f, const std::string& message) {
  std::string tag;
  if (!f.invocation_id.empty()) {
    tag = "[" + (f.function.empty() ? f.target : f.function) + " " + f.invocation_id;
    if (f.attempt > 0) tag += " #" + std::to_string(f.attempt);
    if (f.stream != 0) tag += f.stream == 1 ? " stdout" : " stderr";
    tag += "] ";
  }
  LogFieldList fields = {{"RULE", f.rule},
                         {"TARGET", f.target},
                         {"FUNCTION", f.function},
                         {"STAGE", f.stage},
                         {"INVOCATION_ID", f.invocation_id},
                         {"BUCKET", f.bucket},
                         {"KEY", f.key},
                         {"ATTEMPT", f.attempt > 0 ? std::to_string(f.attempt) : ""},
                         {"DURATION_MS", f.duration_ms >= 0 ? std::to_string(f.duration_ms) : ""},
                         {"ERROR", f.error},
                         {"STREAM", f.stream == 1 ? "stdout" : f.stream == 2 ? "stderr" : ""}};
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  LogWithFields(kLevels[static_cast<int>(level)], fields, tag + message);
}

// Loads rules.d and functions.d together and swaps both in only when both
// are good; on error the running configuration stays.
Status LoadRules(Env& env, const Config& config, rules::Router* router, rules::Scheduler* scheduler,
                 runner::Runner* runner) {
  std::vector<rules::Rule> list;
  auto functions = std::make_shared<runner::FunctionSet>();
  RETURN_IF_ERROR(CheckConfigPermissions(config.config_dir, {config.rules_dir, config.functions_dir}));
  if (!config.rules_dir.empty()) {
    ASSIGN_OR_RETURN(list, rules::LoadRulesDir(env, config.rules_dir));
  }
  if (!config.functions_dir.empty()) {
    ASSIGN_OR_RETURN(*functions, runner::LoadFunctionsDir(env, config.functions_dir, runner->builtins().Names()));
  }
  if (!config.rules_dir.empty() || !config.functions_dir.empty()) {
    spdlog::info("loaded {} rule(s) from {}, {} function(s) from {}", list.size(),
                 config.rules_dir.empty() ? "nowhere" : config.rules_dir, functions->size(),
                 config.functions_dir.empty() ? "nowhere" : config.functions_dir);
    for (const auto& r : list) {
      for (const auto& t : r.targets) {
        if (!t.function.empty() && functions->count(t.function) == 0) {
          spdlog::warn("{}: rule {} target {} names function '{}', which functions.d does not define; "
                       "its invocations will fail", r.source, r.name, t.id, t.function);
        }
      }
    }
  }
  auto set = std::make_shared<const rules::RuleSet>(std::move(list));
  RETURN_IF_ERROR(scheduler->SetRules(set));
  router->SetRules(std::move(set));
  runner->SetFunctions(std::move(functions));
  return Status::OK();
}

void FireDue(rules::Scheduler& scheduler, rules::Router& router, runner::Runner& runner) {
  auto due = scheduler.TakeDue();
  if (!due.ok()) {
    spdlog::error("schedules: {}", due.status().message());
    return;
  }
  if (due->empty()) return;
  for (const auto& [rule, event] : *due) {
    spdlog::info("schedule {} ({}) fired for {}", rule->name, rule->schedule->expression,
                 event["time"].get<std::string>());
    Status s = runner.queue().Begin();
    if (s.ok()) s = router.Fire(*rule, event);
    if (s.ok()) s = runner.queue().Commit();
    if (!s.ok()) {
      runner.queue().Rollback();
      spdlog::error("schedule {}: cannot queue its invocations: {}", rule->name, s.message());
    }
  }
  runner.OnDurable();
}

}  // namespace

Status Run(Env& env, const Config& config) {
  ASSIGN_OR_RETURN(UniqueFd signals, OpenSignalFd());
  FileConfig file_config;
  events::EventPlaneOptions& plane_options = file_config.plane;
  if (!config.config_dir.empty()) {
    auto st = env.fs().StatAt(AT_FDCWD, config.config_dir, true);
    if (!st.ok() || !st->IsDir()) {
      return Status::InvalidArgument("--config-dir '" + config.config_dir +
                                     "' is not a readable directory");
    }
    RETURN_IF_ERROR(LoadConfigFile(env, config.config_dir, &file_config));
  }
  plane_options.log = LogFromEvents;
  // Opening the store removes temp files of writers that died.
  ASSIGN_OR_RETURN(auto store, store::Store::Open(env, config.root));
  ASSIGN_OR_RETURN(UniqueFd lock, LockStateDir(env, config.state_dir));
  ASSIGN_OR_RETURN(auto trail, events::Trail::Open(env, config.state_dir));
  RETURN_IF_ERROR(runner::InvocationStore::CreateTables(trail->db()));
  runner::RunnerOptions& runner_options = file_config.runner;
  runner_options.state_dir = config.state_dir;
  runner_options.config_dir = config.config_dir;
  runner_options.supervisor = config.supervisor;
  runner_options.store_root = config.root;
  runner_options.identity = plane_options.identity;
  runner_options.log = LogFromRunner;
  runner::Runner runner(env, trail->db(), *store, runner_options, stages::SeedBuiltins());
  rules::Router router(
      env, plane_options.identity, [&runner](const rules::Match& m) { return runner.Enqueue(m); },
      rules::Router::Hooks{[&runner] { runner.PrepareStarts(); }, [&runner] { runner.OnDurable(); },
                           [&runner] { runner.OnRollback(); }});
  rules::Scheduler scheduler(env, config.state_dir + "/schedules.json", plane_options.identity,
                             file_config.schedules_persistent);
  RETURN_IF_ERROR(scheduler.Load());
  RETURN_IF_ERROR(LoadRules(env, config, &router, &scheduler, &runner));
  RETURN_IF_ERROR(runner.Recover());
  auto reload = [&]() -> Status {
    // systemd ≥ 253 wants the reload's start time to tell it from a stale one.
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
    (void)sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec)).c_str());
    Status reloaded = LoadRules(env, config, &router, &scheduler, &runner);
    if (!reloaded.ok()) {
      spdlog::error("reload failed, keeping the {} rules in force: {}",
                    router.rules() ? router.rules()->rules().size() : 0, reloaded.message());
    }
    (void)sd_notify(0, "READY=1");
    return reloaded;
  };
  auto watcher = events::NewInotifyWatcher();
  events::EventPlane plane(env, *store, *trail, *watcher, plane_options, &router);
  RETURN_IF_ERROR(plane.Start());
  ASSIGN_OR_RETURN(auto control, ControlServer::Open(config.socket, [&](const nlohmann::json& request) {
    std::string command = request.value("command", "");
    if (command == "status") {
      auto r = runner.stats();
      return nlohmann::json{{"ok", true},
                            {"status", StatusLine(plane.stats(), r)},
                            {"watches", plane.stats().watches},
                            {"records", plane.stats().records},
                            {"running", r.running},
                            {"queued", r.queued},
                            {"succeeded", r.succeeded},
                            {"dead", r.dead},
                            {"rules", router.rules() ? router.rules()->rules().size() : 0}};
    }
    if (command == "reload") {
      Status s = reload();
      return s.ok() ? nlohmann::json{{"ok", true}} : nlohmann::json{{"ok", false}, {"error", s.message()}};
    }
    if (command == "runs") {
      auto rows = runner.queue().Find(runner::QueryFromJson(request));
      if (!rows.ok()) return nlohmann::json{{"ok", false}, {"error", rows.status().message()}};
      nlohmann::json list = nlohmann::json::array();
      for (const auto& v : *rows) list.push_back(runner::InvocationToJson(v));
      return nlohmann::json{{"ok", true}, {"runs", list}};
    }
    if (command == "run") {
      std::string id = request.value("id", "");
      auto v = runner.queue().Get(id);
      if (!v.ok()) return nlohmann::json{{"ok", false}, {"error", v.status().message()}};
      if (!*v) return nlohmann::json{{"ok", false}, {"error", "no invocation " + id}};
      auto attempts = runner.queue().Attempts(id);
      nlohmann::json list = nlohmann::json::array();
      for (int a = 1; a <= (*v)->attempts; ++a) {
        nlohmann::json item = {{"attempt", a}, {"outcome", ""}, {"error", ""}};
        for (const auto& r : attempts.ok() ? *attempts : std::vector<runner::AttemptRecord>()) {
          if (r.attempt == a) item = runner::AttemptToJson(r);
        }
        nlohmann::json output = nlohmann::json::array();
        uint64_t offset = 0;
        for (const auto& line : runner::ReadOutput(runner.RunDir(id, a), &offset)) {
          output.push_back({{"ms", line.unix_ms}, {"stream", line.stream}, {"text", line.text}});
        }
        item["output"] = output;
        list.push_back(item);
      }
      return nlohmann::json{{"ok", true}, {"run", runner::InvocationToJson(**v)}, {"attempts", list}};
    }
    if (command == "redrive" || command == "replay") {
      nlohmann::json out = RunnerRequest(command, request, *trail, router, runner);
      if (out.contains("error")) return nlohmann::json{{"ok", false}, {"error", out["error"]}};
      out["ok"] = true;
      return out;
    }
    return nlohmann::json{{"ok", false},
                          {"error", "unknown command '" + command + "'; expected status, reload, runs, run, redrive or replay"}};
  }));
  FireDue(scheduler, router, runner);  // firings missed while down, once
  spdlog::info("bucketd serving store {} (state {}, config {}, control {}); trail in s3://{}/{}AWSLogs/",
               config.root, config.state_dir,
               config.config_dir.empty() ? "none" : config.config_dir, control->path(), plane_options.trail_bucket,
               plane_options.trail_prefix);
  (void)sd_notify(0, ("READY=1\nSTATUS=" + StatusLine(plane.stats(), runner.stats())).c_str());
  std::string last_status;
  int64_t next_commands_ns = 0;
  // WATCHDOG=1 comes from this loop only: a loop that hangs stops it, and
  // systemd restarts the service.
  uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
  int64_t next_watchdog_ns = 0;
  bool test_hooks = std::getenv("BUCKETD_TEST_HOOKS") != nullptr;
  int64_t rate_since_ns = env.clock().NowNanos();
  uint64_t rate_records = plane.stats().records;
  double events_per_second = -1;
  for (;;) {
    FireDue(scheduler, router, runner);
    int64_t now = env.clock().NowNanos();
    if (watchdog && now >= next_watchdog_ns) {
      (void)sd_notify(0, "WATCHDOG=1");
      next_watchdog_ns = now + static_cast<int64_t>(watchdog_usec) * 1000 / 2;
    }
    if (now >= next_commands_ns) {
      ApplyRunnerCommands(env, *trail, router, runner);
      next_commands_ns = now + kCommandPollNs;
    }
    int64_t wait_ns = std::min({plane.OnTick(), scheduler.NanosUntilNext(), runner.OnTick(),
                                next_commands_ns - now, watchdog ? next_watchdog_ns - now : INT64_MAX});
    if (now - rate_since_ns >= kRatePeriodNs) {
      events_per_second = static_cast<double>(plane.stats().records - rate_records) * 1e9 /
                          static_cast<double>(now - rate_since_ns);
      rate_since_ns = now;
      rate_records = plane.stats().records;
    }
    std::string status = StatusLine(plane.stats(), runner.stats(), events_per_second);
    if (status != last_status) {
      (void)sd_notify(0, ("STATUS=" + status).c_str());
      last_status = status;
    }
    std::vector<struct pollfd> p = {{signals.get(), POLLIN, 0}, {plane.wake_fd(), POLLIN, 0},
                                    {runner.wake_fd(), POLLIN, 0}};
    control->AddPollFds(&p);
    int timeout_ms = static_cast<int>(std::min<int64_t>(wait_ns / 1'000'000 + 1, 60'000));
    if (::poll(p.data(), p.size(), timeout_ms) < 0 && errno != EINTR) return Status::FromErrno("poll", errno);
    if (p[1].revents & POLLIN) (void)plane.ProcessHints();  // failures are logged and retried
    control->Handle(std::vector<struct pollfd>(p.begin() + 3, p.end()), env.clock().NowNanos());
    if (!(p[0].revents & POLLIN)) continue;
    ASSIGN_OR_RETURN(int sig, ReadSignal(signals.get()));
    if (sig == SIGCHLD) {
      runner.OnChildExit();
      continue;
    }
    if (sig == SIGUSR1) {
      if (!test_hooks) continue;
      // Test hook (BUCKETD_TEST_HOOKS set): the main loop hangs, as a
      // deadlock would, so a test can watch the watchdog act.
      spdlog::warn("test hook: the main loop hangs now");
      for (;;) ::pause();
    }
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      (void)sd_notify(0, "STOPPING=1");
      watcher->Stop();
      (void)plane.ProcessHints();
      Status sealed = plane.PublishPending(true);
      if (!sealed.ok()) spdlog::warn("trail not sealed at exit ({}); it will be at the next start", sealed.message());
      // Exec targets keep running under their supervisors; the next start
      // re-attaches to them. Built-in stages are asked to stop.
      runner.Shutdown();
      return Status::OK();
    }
    if (sig == SIGHUP) (void)reload();
  }
}

}  // namespace bucketd::daemon
