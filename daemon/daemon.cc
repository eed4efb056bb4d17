#include "daemon/daemon.h"

#include <sys/mman.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <spdlog/spdlog.h>

#include "common/file_util.h"
#include "common/sqlite_checkpointer.h"
#include "daemon/config_file.h"
#include "daemon/config_permissions.h"
#include <sys/resource.h>

#include "api/s3_api.h"
#include "daemon/control_socket.h"
#include "http/server.h"
#include "iam/iam_store.h"
#include "iam/session_token.h"
#include "daemon/logging.h"
#include "daemon/control_verbs.h"
#include "daemon/listen_fds.h"
#include "daemon/invoke_bridge.h"
#include "daemon/manager.h"
#include "daemon/signals_linux.h"
#include "daemon/test_hooks.h"
#include "events/event_plane.h"
#include "events/trail.h"
#include "events/watcher.h"
#include "rules/router.h"
#include "rules/rule.h"
#include "rules/scheduler.h"
#include "runner/invocation_json.h"
#include "runner/runner.h"
#include "stages/stages.h"
#include "daemon/state_dir.h"
#include "store/meta_key.h"
#include "store/store.h"

namespace bucketd::daemon {

namespace {

constexpr int kCheckpointPages = 1000;  // SQLite's own threshold

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

// Idle keep-alive connections are cheap, but each is a descriptor: take
// the hard limit (systemd's default soft limit is 1024).
void RaiseOpenFileLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// The endpoint's certificate and key: systemd credentials (LoadCredential=
// api.crt:… and api.key:… in the unit), never a path in a config file. A key
// others may read is refused, as sshd refuses one.
Status ReadTlsCredentials(Env& env, http::ServerOptions* options) {
  std::string dir = SystemdDirectory("CREDENTIALS_DIRECTORY");
  if (dir.empty()) {
    return Status::InvalidArgument("the endpoint's TLS (--api-tls, Api.Tls) takes api.crt and api.key from "
                                   "$CREDENTIALS_DIRECTORY, which is not set (LoadCredential=api.crt:/etc/ssl/… and "
                                   "LoadCredential=api.key:… in the unit)");
  }
  auto key_stat = env.fs().StatAt(AT_FDCWD, dir + "/api.key", true);
  if (key_stat.ok() && (key_stat->mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(key_stat->mode & 0777));
    return Status::PermissionDenied(dir + "/api.key: the TLS key may be read by others (mode " + mode +
                                    "); chmod 600 it");
  }
  ASSIGN_OR_RETURN(options->tls_certificate_pem, ReadFileToString(env.fs(), AT_FDCWD, dir + "/api.crt"));
  ASSIGN_OR_RETURN(options->tls_key_pem, ReadFileToString(env.fs(), AT_FDCWD, dir + "/api.key"));
  return Status::OK();
}

}  // namespace

Status Run(Env& env, const Config& config) {
  ASSIGN_OR_RETURN(UniqueFd signals, OpenSignalFd());
  // Before anything can start a child: the sockets leave the environment.
  ASSIGN_OR_RETURN(ListenFds activated, TakeListenFds());
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
  if (TestHook("BUCKETD_TEST_SLOW_HASH", "1")) {
    // A slow disk, so that a test file of a few MB stands in for a 20 GB
    // one: every file over 64 KiB is hashed in 64 KiB steps of 20 ms.
    plane_options.inline_hash_bytes = plane_options.hash_step_bytes = 64 << 10;
    plane_options.after_hash_step = [] { ::usleep(20'000); };
  }
  // Opening the store removes temp files of writers that died.
  ASSIGN_OR_RETURN(auto store, store::Store::Open(env, config.root));
  if (!store->has_meta_key()) {
    // Everything bucketd writes carries metadata it must seal.
    return Status::PermissionDenied("cannot read the store's metadata key " + config.root + "/" +
                                    store::kMetaKeyFile + " (it must belong to bucketd's user: chown it, or "
                                    "remove it to have bucketd make a new one)");
  }
  RETURN_IF_ERROR(CheckStateDirPermissions(config.state_dir));
  ASSIGN_OR_RETURN(UniqueFd lock, LockStateDir(env, config.state_dir));
  ASSIGN_OR_RETURN(auto trail, events::Trail::Open(env, config.state_dir));
  RETURN_IF_ERROR(runner::InvocationStore::CreateTables(trail->db()));
  // The state database's checkpoints run beside the unit of work, not in
  // the commit that an event's target waits for.
  ASSIGN_OR_RETURN(auto checkpointer, SqliteCheckpointer::Start(trail->db(), kCheckpointPages, [](const std::string& m) {
                     spdlog::warn("{} (the log grows until a checkpoint works)", m);
                   }));
  runner::RunnerOptions& runner_options = file_config.runner;
  runner_options.state_dir = config.state_dir;
  runner_options.config_dir = config.config_dir;
  runner_options.supervisor = config.supervisor;
  runner_options.store_root = config.root;
  runner_options.identity = plane_options.identity;
  runner_options.log = LogFromRunner;
  runner_options.test_kill_after_run_dir = TestHook("BUCKETD_TEST_KILL_AFTER_RUN_DIR", "1");
  if (const char* ms = std::getenv("BUCKETD_TEST_LAMBDA_IDLE_MS"); ms != nullptr && std::getenv("BUCKETD_TEST_HOOKS")) {
    // Test hook: a test of idle environments need not wait ten minutes.
    runner_options.lambda_idle_ns = std::atoll(ms) * 1'000'000;
  }
  // A function's Role: a session minted with the key STS's tokens use, so
  // the endpoint knows it (iam/session_token.h).
  std::string session_key = store->DerivedKey("sts");
  if (!config.config_dir.empty() && !session_key.empty()) {
    runner_options.role_credentials = [&env, session_key, dir = config.config_dir](
                                          const std::string& arn, const std::string& session,
                                          int64_t seconds) -> Result<runner::RoleSession> {
      ASSIGN_OR_RETURN(iam::SessionCredentials c, iam::AssumeRoleForService(env, dir, session_key, arn,
                                                                            "lambda.amazonaws.com", session, seconds));
      return runner::RoleSession{c.access_key_id, c.secret_access_key, c.session_token, c.expires_ns};
    };
  }
  // Under MemoryDenyWriteExecute=yes (the shipped unit) no child may map
  // memory writable and executable, which V8's JIT needs: node functions
  // then run --jitless. Probed, so a unit without it keeps the JIT.
  if (void* wx = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      wx == MAP_FAILED) {
    runner_options.node_flags = {"--jitless"};
    spdlog::info("writable and executable memory is denied here: node functions run --jitless");
  } else {
    ::munmap(wx, 4096);
  }
  runner::Runner runner(env, trail->db(), *store, runner_options, stages::SeedBuiltins());
  rules::Router router(plane_options.identity);
  rules::Scheduler scheduler(env, trail->db(), plane_options.identity, file_config.schedules_persistent);
  RETURN_IF_ERROR(scheduler.Load(config.state_dir + "/schedules.json"));
  auto watcher = events::NewInotifyWatcher();
  events::ApiDeletes api_deletes;
  plane_options.api_deletes = &api_deletes;
  events::ApiCalls api_calls;
  plane_options.api_calls = &api_calls;
  events::EventPlane plane(env, *store, *trail, *watcher, plane_options);
  Manager manager({env, config, *trail, *watcher, plane, router, scheduler, runner, *store, plane_options.identity,
                   "s3://" + plane_options.trail_bucket + "/" + plane_options.trail_prefix});
  RETURN_IF_ERROR(manager.Start());
  ControlServerOptions control_options;
  control_options.activated_fd = activated.control;
  if (const char* ms = std::getenv("BUCKETD_TEST_CONTROL_IDLE_MS"); ms != nullptr && std::getenv("BUCKETD_TEST_HOOKS")) {
    // Test hook: a test of idle and slow clients need not wait 30 s.
    control_options.idle_ns = control_options.request_ns = std::atoll(ms) * 1'000'000;
  }
  // The AWS API endpoint: its own threads, the same store; what it writes
  // reaches the trail through the event plane like any other change.
  std::string api_listen = config.api_listen.empty() ? file_config.api_listen : config.api_listen;
  iam::Directory directory(env, config.config_dir, plane_options.identity.account);
  directory.set_session_key(session_key);
  api::S3ApiOptions api_options;
  api_options.region = plane_options.identity.region;
  api_options.account = plane_options.identity.account;
  api_options.trail_bucket = plane_options.trail_bucket;
  api_options.multipart_dir = config.state_dir + "/multipart";
  api_options.log_warning = [](const std::string& m) { spdlog::warn("{}", m); };
  api_options.calls = &api_calls;
  if (!config.config_dir.empty()) api_options.event_selectors_file = config.config_dir + "/event-selectors.json";
  api_options.notifications_dir = rules::NotificationsDir(config.state_dir);
  api_options.config_rules_dir = config.rules_dir;
  // A configuration put through the API takes effect as a reload does (the
  // main loop reads SIGHUP from its signalfd).
  api_options.rules_changed = [] { ::kill(::getpid(), SIGHUP); };
  // Lambda's Invoke: workers hand it to the manager's thread and wait.
  InvokeBridge invoke_bridge;
  manager.AddWakeFd(invoke_bridge.wake_fd(), [&] { invoke_bridge.Serve(manager); });
  api_options.invoke = [&](const api::LambdaInvoke& r) { return invoke_bridge.Call(r); };
  api::S3Api s3(env, *store, directory, &api_deletes, api_options);
  std::unique_ptr<http::Server> api_server;
  auto handle = [&s3](http::Exchange& ex) { s3.Handle(ex); };
  http::ServerOptions server_options;
  if (config.api_tls || file_config.api_tls) {
    RETURN_IF_ERROR(ReadTlsCredentials(env, &server_options));
  }
  if (activated.api >= 0) {
    RaiseOpenFileLimit();
    if (!api_listen.empty()) spdlog::info("the endpoint's socket comes from systemd; not listening on {}", api_listen);
    ASSIGN_OR_RETURN(api_server, http::Server::Adopt(activated.api, handle, server_options));
  } else if (!api_listen.empty()) {
    RaiseOpenFileLimit();
    ASSIGN_OR_RETURN(api_server, http::Server::Listen(api_listen, handle, server_options));
  }
  if (api_server) {
    spdlog::info("AWS API endpoint on {}://{}", api_server->tls() ? "https" : "http", api_server->address());
    runner.SetEndpointUrl(std::string(api_server->tls() ? "https" : "http") + "://" + api_server->address());
  }
  ASSIGN_OR_RETURN(auto control, ControlServer::Open(
                                     config.socket,
                                     [&](const nlohmann::json& request) { return HandleControlRequest(manager, request); },
                                     control_options));
  Status ran = manager.Run(signals.get(), *control);
  // Workers still waiting for a function hear that bucketd stopped before
  // the server that runs them is taken down.
  invoke_bridge.Close();
  return ran;
}

}  // namespace bucketd::daemon
