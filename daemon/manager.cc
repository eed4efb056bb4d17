#include "daemon/manager.h"

#include <poll.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "daemon/config_permissions.h"
#include "daemon/control_socket.h"
#include "daemon/signals_linux.h"
#include "daemon/test_hooks.h"
#include "runner/code_package.h"
#include "runner/layers.h"

namespace bucketd::daemon {

namespace {

constexpr int64_t kRatePeriodNs = 10'000'000'000;  // events/s in the status line

}  // namespace

Manager::Manager(ManagerParts p)
    : env_(p.env),
      config_(p.config),
      trail_(p.trail),
      watcher_(p.watcher),
      plane_(p.plane),
      router_(p.router),
      scheduler_(p.scheduler),
      runner_(p.runner),
      store_(p.store),
      identity_(std::move(p.identity)),
      trail_location_(std::move(p.trail_location)),
      kill_before_schedule_commit_(TestHook("BUCKETD_TEST_KILL_BEFORE_COMMIT", "schedule")) {}

Status Manager::Commit(Work work) {
  if (work.changes.empty() && work.firings.empty() && work.matches.empty() && work.invokes.empty()) {
    return Status::OK();
  }
  int64_t now = env_.clock().NowNanos();
  std::vector<events::TrailRecord> records;
  Status committed = [&]() -> Status {
    ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(trail_.db()));
    ASSIGN_OR_RETURN(records, trail_.Append(txn, work.changes));
    std::vector<rules::Match> matches = router_.Route(records, now);
    for (const auto& f : work.firings) {
      for (auto& m : router_.Fire(*f.rule, f.event, now)) matches.push_back(std::move(m));
    }
    for (auto& m : work.matches) matches.push_back(std::move(m));
    RETURN_IF_ERROR(runner_.Enqueue(txn, matches));
    for (const DirectInvoke& i : work.invokes) {
      RETURN_IF_ERROR(runner_.EnqueueInvoke(txn, i.function, i.payload, i.request_id));
    }
    RETURN_IF_ERROR(scheduler_.Record(txn, work.firings));
    // Exec starts go to idle supervisors now and wait there for the commit,
    // so a target's start waits for the fsync and nothing else.
    runner_.PrepareStarts();
    if (kill_before_schedule_commit_ && !work.firings.empty()) {
      spdlog::warn("test hook: bucketd kills itself before committing a schedule firing");
      ::raise(SIGKILL);
    }
    return txn.Commit();
  }();
  if (!committed.ok()) {
    runner_.OnRollback();
    if (!work.changes.empty()) plane_.NotRecorded(committed);
    for (const auto& f : work.firings) {
      spdlog::error("schedule {}: cannot queue its invocations ({}); it stays due", f.rule->name,
                    committed.message());
    }
    return committed;
  }
  plane_.Recorded(records);
  scheduler_.Fired(work.firings);
  for (const auto& f : work.firings) {
    spdlog::info("schedule {} ({}) fired for {}", f.rule->name, f.rule->schedule->expression,
                 f.event["time"].get<std::string>());
  }
  runner_.OnDurable();
  return Status::OK();
}

void Manager::CommitChanges() {
  // A failure is logged by the plane, which rescans until appends work.
  (void)Commit(Work{plane_.TakeChanges(), {}, {}, {}});
}

void Manager::FireDue() {
  std::vector<rules::Firing> due = scheduler_.Due();
  if (!due.empty()) (void)Commit(Work{{}, std::move(due), {}, {}});
}

Status Manager::LoadConfig() {
  std::vector<rules::Rule> list;
  auto functions = std::make_shared<runner::FunctionSet>();
  RETURN_IF_ERROR(CheckConfigPermissions(config_.config_dir, {config_.rules_dir, config_.functions_dir}));
  // The rule files, and the notification configurations put through the API.
  std::vector<std::string> rule_dirs = {rules::NotificationsDir(config_.state_dir)};
  if (!config_.rules_dir.empty()) rule_dirs.insert(rule_dirs.begin(), config_.rules_dir);
  ASSIGN_OR_RETURN(list, rules::LoadRulesDirs(env_, rule_dirs));
  if (!config_.functions_dir.empty()) {
    ASSIGN_OR_RETURN(*functions, runner::LoadFunctionsDir(env_, config_.functions_dir, runner_.builtins().Names()));
  }
  // What bucketd runs or reads to run: nobody else may be able to change it.
  for (auto& [name, fn] : *functions) {
    std::string role = "function " + name + " (" + fn.source + ")";
    if (!fn.code_zip_file.empty()) RETURN_IF_ERROR(CheckTrustedPath(fn.code_zip_file, role + ": /Code/ZipFile"));
    // A package in a bucket is data others may not have written yet, or
    // may have written badly: that function fails its invocations with the
    // reason (Lambda's State "Failed"), the rest loads.
    if (Status code = runner::ResolveCode(store_, config_.state_dir, &fn); !code.ok()) {
      if (fn.code_s3_bucket.empty()) return code;
      fn.code_error = code.message();
      spdlog::error("{}: its invocations fail until a reload finds its package", fn.code_error);
      continue;
    }
    RETURN_IF_ERROR(runner::ResolveLayers(env_, config_.state_dir, &fn));
    if (fn.runtime == runner::Runtime::kExec) RETURN_IF_ERROR(CheckTrustedPath(fn.handler, role + ": /Handler"));
    if (runner::IsLambdaRuntime(fn.runtime) && fn.runtime != runner::Runtime::kJupyter) {
      RETURN_IF_ERROR(CheckTrustedPath(fn.code_directory, role + ": /Code/Directory", /*with_files=*/true));
      if (Status code = runner::CheckLambdaCode(fn); !code.ok()) {
        if (fn.code_s3_bucket.empty()) return code;
        fn.code_error = code.message();  // a package's content is data, as above
        spdlog::error("{}: its invocations fail until a reload finds its package", fn.code_error);
      }
    }
    if (!fn.working_directory.empty()) {
      RETURN_IF_ERROR(CheckTrustedPath(fn.working_directory, role + ": /WorkingDirectory"));
    }
  }
  if (!config_.config_dir.empty()) {
    RETURN_IF_ERROR(CheckTrustedPath(config_.config_dir + "/sql", "the SQL the etl stage runs", /*with_files=*/true));
  }
  if (!config_.rules_dir.empty() || !config_.functions_dir.empty()) {
    spdlog::info("loaded {} rule(s) from {}, {} function(s) from {}", list.size(),
                 config_.rules_dir.empty() ? "nowhere" : config_.rules_dir, functions->size(),
                 config_.functions_dir.empty() ? "nowhere" : config_.functions_dir);
    for (const auto& r : list) {
      for (const auto& w : r.warnings) spdlog::warn("{}", w);
    }
    for (const auto& w : runner::TargetsWithoutFunctions(list, *functions)) spdlog::warn("{}", w);
  }
  // Rules and functions are swapped in together, only when both are good.
  auto set = std::make_shared<const rules::RuleSet>(std::move(list));
  RETURN_IF_ERROR(scheduler_.SetRules(set));
  router_.SetRules(std::move(set));
  runner_.SetFunctions(std::move(functions));
  return Status::OK();
}

Result<nlohmann::json> Manager::Replay(const std::string& rule_name, int64_t from_ns, int64_t to_ns,
                                       const std::string& name) {
  const rules::Rule* rule = router_.FindRule(rule_name);
  if (rule == nullptr) return Status::NotFound("no rule named '" + rule_name + "' is loaded");
  if (!rule->pattern) {
    return Status::InvalidArgument("rule '" + rule_name + "' has no event pattern (a schedule is not replayed)");
  }
  int matches = 0, records = 0;
  events::TrailQuery q;
  q.since_ns = from_ns;
  q.limit = 1000;
  for (;;) {
    ASSIGN_OR_RETURN(auto batch, trail_.Find(q));
    std::vector<events::TrailRecord> window;
    for (auto& r : batch) {
      if (r.time_ns < to_ns) window.push_back(std::move(r));
    }
    records += static_cast<int>(window.size());
    Work work;
    work.matches = router_.Replay(window, *rule, name, env_.clock().NowNanos());
    matches += static_cast<int>(work.matches.size());
    RETURN_IF_ERROR(Commit(std::move(work)));
    if (batch.size() < static_cast<size_t>(q.limit)) break;
    q.after_seq = batch.back().seq;
  }
  return nlohmann::json{{"records", records}, {"invocations", matches}, {"name", name}};
}

std::string Manager::StatusLine(double events_per_second) const {
  const events::EventPlaneStats& s = plane_.stats();
  runner::RunnerStats r = runner_.stats();
  char rate[32] = "";
  if (events_per_second >= 0) std::snprintf(rate, sizeof rate, " (%.1f/s)", events_per_second);
  std::string line = "watching " + std::to_string(s.watches) + " directories, " +
                     std::to_string(s.records) + " events recorded" + rate + "; " + std::to_string(r.running) +
                     " running, " + std::to_string(r.queued) + " queued, " +
                     std::to_string(r.succeeded) + " succeeded, " + std::to_string(r.dead) + " dead";
  if (s.degraded) line += ", NOT TAKING NEW WORK (trail appends fail)";
  if (r.stalled) line += ", NOT STARTING ANYTHING (cannot record in the state directory)";
  if (s.watch_limited) line += ", watch limit reached (rescanning)";
  if (s.hashing > 0) line += ", hashing " + std::to_string(s.hashing) + " big file(s)";
  if (!s.last_error.empty()) line += "; last error: " + s.last_error;
  if (!r.last_error.empty()) line += "; last failed invocation: " + r.last_error;
  return line;
}

nlohmann::json Manager::StatusAnswer() const {
  runner::RunnerStats r = runner_.stats();
  return nlohmann::json{{"ok", true},
                        {"status", StatusLine()},
                        {"watches", plane_.stats().watches},
                        {"records", plane_.stats().records},
                        {"running", r.running},
                        {"queued", r.queued},
                        {"succeeded", r.succeeded},
                        {"dead", r.dead},
                        {"rules", router_.rules() ? router_.rules()->rules().size() : 0}};
}

Status Manager::Start() {
  RETURN_IF_ERROR(LoadConfig());
  RETURN_IF_ERROR(runner_.Recover());
  RETURN_IF_ERROR(plane_.Start());
  CommitChanges();  // the changes made while bucketd was down
  FireDue();        // firings missed while down, once
  return Status::OK();
}

void Manager::Shutdown() {
  (void)sd_notify(0, "STOPPING=1");
  watcher_.Stop();
  (void)plane_.ProcessHints();
  CommitChanges();
  Status sealed = plane_.PublishPending(true);
  if (!sealed.ok()) spdlog::warn("trail not sealed at exit ({}); it will be at the next start", sealed.message());
  // Exec targets keep running under their supervisors; the next start
  // re-attaches to them. Built-in stages are asked to stop.
  runner_.Shutdown();
}

Status Manager::Run(int signal_fd, ControlServer& control) {
  spdlog::info("bucketd serving store {} (state {}, config {}, control {}); trail in {}AWSLogs/", config_.root,
               config_.state_dir, config_.config_dir.empty() ? "none" : config_.config_dir, control.path(),
               trail_location_);
  (void)sd_notify(0, ("READY=1\nSTATUS=" + StatusLine()).c_str());
  std::string last_status;
  // WATCHDOG=1 comes from this loop only: a loop that hangs stops it, and
  // systemd restarts the service.
  uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
  int64_t next_watchdog_ns = 0;
  bool test_hooks = std::getenv("BUCKETD_TEST_HOOKS") != nullptr;
  int64_t rate_since_ns = env_.clock().NowNanos();
  uint64_t rate_records = plane_.stats().records;
  double events_per_second = -1;
  for (;;) {
    FireDue();
    int64_t now = env_.clock().NowNanos();
    if (watchdog && now >= next_watchdog_ns) {
      (void)sd_notify(0, "WATCHDOG=1");
      next_watchdog_ns = now + static_cast<int64_t>(watchdog_usec) * 1000 / 2;
    }
    int64_t plane_wait = plane_.OnTick();
    CommitChanges();  // what the plane's rechecks and rescans found
    int64_t wait_ns = std::min({plane_wait, scheduler_.NanosUntilNext(), runner_.OnTick(),
                                control.NanosUntilNextDrop(now), watchdog ? next_watchdog_ns - now : INT64_MAX});
    if (now - rate_since_ns >= kRatePeriodNs) {
      events_per_second = static_cast<double>(plane_.stats().records - rate_records) * 1e9 /
                          static_cast<double>(now - rate_since_ns);
      rate_since_ns = now;
      rate_records = plane_.stats().records;
    }
    std::string status = StatusLine(events_per_second);
    if (status != last_status) {
      (void)sd_notify(0, ("STATUS=" + status).c_str());
      last_status = status;
    }
    std::vector<int> runner_fds = runner_.wake_fds();
    std::vector<struct pollfd> p = {{signal_fd, POLLIN, 0}, {plane_.wake_fd(), POLLIN, 0},
                                    {runner_fds[0], POLLIN, 0}, {plane_.api_wake_fd(), POLLIN, 0},
                                    {runner_fds[1], POLLIN, 0}};
    constexpr size_t kBase = 5;
    for (const auto& w : wakes_) p.push_back({w.first, POLLIN, 0});
    control.AddPollFds(&p);
    int timeout_ms = static_cast<int>(std::min<int64_t>(wait_ns / 1'000'000 + 1, 60'000));
    if (::poll(p.data(), p.size(), timeout_ms) < 0 && errno != EINTR) return Status::FromErrno("poll", errno);
    if ((p[1].revents & POLLIN) || (p[3].revents & POLLIN)) {
      (void)plane_.ProcessHints();  // failures are logged and retried
      CommitChanges();
    }
    for (size_t i = 0; i < wakes_.size(); ++i) {
      if (p[kBase + i].revents & POLLIN) wakes_[i].second();
    }
    control.Handle(std::vector<struct pollfd>(p.begin() + static_cast<std::ptrdiff_t>(kBase + wakes_.size()), p.end()),
                   env_.clock().NowNanos());
    if (!(p[0].revents & POLLIN)) continue;
    ASSIGN_OR_RETURN(int sig, ReadSignal(signal_fd));
    if (sig == SIGCHLD) {
      runner_.OnChildExit();
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
      Shutdown();
      return Status::OK();
    }
    if (sig == SIGHUP) (void)Reload();
  }
}

Status Manager::Reload() {
  // systemd ≥ 253 wants the reload's start time to tell it from a stale one.
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  (void)sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec)).c_str());
  Status reloaded = LoadConfig();
  if (!reloaded.ok()) {
    spdlog::error("reload failed, keeping the {} rules in force: {}",
                  router_.rules() ? router_.rules()->rules().size() : 0, reloaded.message());
  }
  (void)sd_notify(0, "READY=1");
  return reloaded;
}

}  // namespace bucketd::daemon
