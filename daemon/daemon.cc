#include "daemon/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include <spdlog/spdlog.h>

#include "daemon/config_file.h"
#include "daemon/signals_linux.h"
#include "events/event_plane.h"
#include "events/trail.h"
#include "events/watcher.h"
#include "rules/router.h"
#include "rules/scheduler.h"
#include "daemon/state_dir.h"
#include "store/store.h"

namespace bucketd::daemon {

Status ResolveConfig(Config* c) {
  if (c->root.empty()) return Status::InvalidArgument("--root is required (the store's directory)");
  while (c->root.size() > 1 && c->root.back() == '/') c->root.pop_back();
  if (c->state_dir.empty()) {
    const char* sd = std::getenv("STATE_DIRECTORY");
    // systemd may pass several directories separated by ':'; the first is ours.
    if (sd != nullptr && *sd != '\0') {
      c->state_dir = std::string(sd).substr(0, std::string(sd).find(':'));
    } else {
      c->state_dir = c->root + "/.bucketd";
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

std::string StatusLine(const events::EventPlaneStats& s) {
  std::string line = "watching " + std::to_string(s.watches) + " directories, " +
                     std::to_string(s.records) + " events recorded";
  if (s.degraded) line += ", NOT TAKING NEW WORK (trail appends fail)";
  if (s.watch_limited) line += ", watch limit reached (rescanning)";
  if (!s.last_error.empty()) line += "; last error: " + s.last_error;
  return line;
}

}  // namespace

namespace {

// Loads <config-dir>/rules.d into the router; on error the router keeps the
// rules it had.
Status LoadRules(Env& env, const std::string& config_dir, rules::Router* router,
                 rules::Scheduler* scheduler) {
  std::vector<rules::Rule> list;
  if (!config_dir.empty()) {
    ASSIGN_OR_RETURN(list, rules::LoadRulesDir(env, config_dir + "/rules.d"));
    spdlog::info("loaded {} rule(s) from {}/rules.d", list.size(), config_dir);
  }
  auto set = std::make_shared<const rules::RuleSet>(std::move(list));
  RETURN_IF_ERROR(scheduler->SetRules(set));
  router->SetRules(std::move(set));
  return Status::OK();
}

void FireDue(rules::Scheduler& scheduler, rules::Router& router) {
  auto due = scheduler.TakeDue();
  if (!due.ok()) {
    spdlog::error("schedules: {}", due.status().message());
    return;
  }
  for (const auto& [rule, event] : *due) {
    spdlog::info("schedule {} ({}) fired for {}", rule->name, rule->schedule->expression,
                 event["time"].get<std::string>());
    router.Fire(*rule, event);
  }
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
  rules::Router router(env, plane_options.identity, [](const rules::Match& m) {
    // Until the runner exists, a match is reported, not run.
    std::string what = m.record == nullptr ? std::string("a scheduled event")
                                           : m.record->EventName() + " s3://" + m.record->change.bucket +
                                                 "/" + m.record->change.key;
    spdlog::info("rule {} matched {} -> target {} ({}){}", m.rule->name, what, m.target->id,
                 m.target->function.empty() ? m.target->arn : "function " + m.target->function,
                 m.input.ok() ? " input " + *m.input : "; no input: " + m.input.status().message());
  });
  rules::Scheduler scheduler(env, config.state_dir + "/schedules.json", plane_options.identity,
                             file_config.schedules_persistent);
  RETURN_IF_ERROR(scheduler.Load());
  RETURN_IF_ERROR(LoadRules(env, config.config_dir, &router, &scheduler));
  auto watcher = events::NewInotifyWatcher();
  events::EventPlane plane(env, *store, *trail, *watcher, plane_options, &router);
  RETURN_IF_ERROR(plane.Start());
  FireDue(scheduler, router);  // firings missed while down, once
  spdlog::info("bucketd serving store {} (state {}, config {}); trail in s3://{}/{}AWSLogs/",
               config.root, config.state_dir,
               config.config_dir.empty() ? "none" : config.config_dir, plane_options.trail_bucket,
               plane_options.trail_prefix);
  (void)sd_notify(0, ("READY=1\nSTATUS=" + StatusLine(plane.stats())).c_str());
  std::string last_status;
  for (;;) {
    FireDue(scheduler, router);
    int64_t wait_ns = std::min(plane.OnTick(), scheduler.NanosUntilNext());
    std::string status = StatusLine(plane.stats());
    if (status != last_status) {
      (void)sd_notify(0, ("STATUS=" + status).c_str());
      last_status = status;
    }
    struct pollfd p[2] = {{signals.get(), POLLIN, 0}, {plane.wake_fd(), POLLIN, 0}};
    int timeout_ms = static_cast<int>(std::min<int64_t>(wait_ns / 1'000'000 + 1, 60'000));
    if (::poll(p, 2, timeout_ms) < 0 && errno != EINTR) return Status::FromErrno("poll", errno);
    if (p[1].revents & POLLIN) (void)plane.ProcessHints();  // failures are logged and retried
    if (!(p[0].revents & POLLIN)) continue;
    ASSIGN_OR_RETURN(int sig, ReadSignal(signals.get()));
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      (void)sd_notify(0, "STOPPING=1");
      watcher->Stop();
      (void)plane.ProcessHints();
      Status sealed = plane.PublishPending(true);
      if (!sealed.ok()) spdlog::warn("trail not sealed at exit ({}); it will be at the next start", sealed.message());
      return Status::OK();
    }
    if (sig == SIGHUP) {
      // systemd ≥ 253 wants the reload's start time to tell it from a stale one.
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
      (void)sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec)).c_str());
      Status reloaded = LoadRules(env, config.config_dir, &router, &scheduler);
      if (!reloaded.ok()) {
        spdlog::error("reload failed, keeping the {} rules in force: {}",
                      router.rules() ? router.rules()->rules().size() : 0, reloaded.message());
      }
      (void)sd_notify(0, "READY=1");
    }
  }
}

}  // namespace bucketd::daemon
