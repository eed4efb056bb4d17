// The bucketd daemon: configuration from flags and systemd's environment,
// and the foreground main loop.
//
// Issue-2 scope: bucketd opens (and so recovers) the store, takes the state
// directory's lock so two daemons never share it, tells systemd it is ready,
// and runs until SIGTERM or SIGINT, when it says STOPPING=1 and exits 0.
#ifndef BUCKETD_DAEMON_DAEMON_H_
#define BUCKETD_DAEMON_DAEMON_H_

#include <string>

#include "common/env.h"
#include "common/status.h"

namespace bucketd::daemon {

struct Config {
  std::string root;        // the store root; default /srv/bucketd
  std::string config_dir;  // default $CONFIGURATION_DIRECTORY, else /etc/bucketd if it exists; empty: no rules
  std::string rules_dir;      // default CONFIG_DIR/rules.d (none without a config dir)
  std::string functions_dir;  // default CONFIG_DIR/functions.d
  std::string state_dir;   // resolved: flag, else $STATE_DIRECTORY, else <root>/.bucketd
  std::string supervisor;  // resolved: bucketd-supervisor beside bucketd or in ../lib/bucketd
  std::string socket;      // resolved: flag, else $RUNTIME_DIRECTORY/control.sock, else <state>/control.sock
  std::string api_listen;  // --api-listen ADDR:PORT; else bucketd.json's Api.Listen; else no endpoint
  bool api_tls = false;    // --api-tls, or bucketd.json's Api.Tls
};

// Fills the defaults that depend on the environment. InvalidArgument names
// the flag when something required is missing.
Status ResolveConfig(Config* config);

// Runs until SIGTERM/SIGINT. Returns OK after a clean shutdown; an error
// (with a one-line reason) when startup fails.
Status Run(Env& env, const Config& config);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_DAEMON_H_
