#include "daemon/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "daemon/signals_linux.h"
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

Status Run(Env& env, const Config& config) {
  ASSIGN_OR_RETURN(UniqueFd signals, OpenSignalFd());
  if (!config.config_dir.empty()) {
    auto st = env.fs().StatAt(AT_FDCWD, config.config_dir, true);
    if (!st.ok() || !st->IsDir()) {
      return Status::InvalidArgument("--config-dir '" + config.config_dir +
                                     "' is not a readable directory");
    }
  }
  // Opening the store removes temp files of writers that died.
  auto store = store::Store::Open(env, config.root);
  if (!store.ok()) return store.status();
  auto lock = LockStateDir(env, config.state_dir);
  if (!lock.ok()) return lock.status();
  spdlog::info("bucketd serving store {} (state {}, config {})", config.root, config.state_dir,
               config.config_dir.empty() ? "none" : config.config_dir);
  (void)sd_notify(0, "READY=1\nSTATUS=serving the store");
  for (;;) {
    struct pollfd p = {signals.get(), POLLIN, 0};
    if (::poll(&p, 1, -1) < 0 && errno != EINTR) return Status::FromErrno("poll", errno);
    ASSIGN_OR_RETURN(int sig, ReadSignal(signals.get()));
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      (void)sd_notify(0, "STOPPING=1");
      return Status::OK();
    }
    if (sig == SIGHUP) spdlog::info("SIGHUP: nothing to reload yet");
  }
}

}  // namespace bucketd::daemon
