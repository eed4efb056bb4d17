// What every bucketctl command handler gets: the parsed global flags and
// lazy access to the store.
#ifndef BUCKETD_CLI_CONTEXT_H_
#define BUCKETD_CLI_CONTEXT_H_

#include <memory>
#include <string>

#include "common/env.h"
#include "events/trail.h"

#include <nlohmann/json.hpp>
#include "store/store.h"

namespace bucketd::cli {

class Context {
 public:
  explicit Context(Env& env) : env_(env) {}
  Env& env() { return env_; }
  std::string& root_flag() { return root_; }
  std::string& state_dir_flag() { return state_dir_; }
  std::string& config_dir_flag() { return config_dir_; }
  std::string& socket_flag() { return socket_; }
  // --config-dir, else $CONFIGURATION_DIRECTORY.
  Result<std::string> ConfigDir();
  // --state-dir, else $STATE_DIRECTORY, else <root>/.bucketd (as bucketd).
  Result<std::string> StateDir();
  // Opens the store at --root / $BUCKETD_ROOT on first use.
  Result<store::Store*> Store();
  // The trail database in the state directory (which bucketd must have
  // made); read-only beside a running daemon unless asked.
  Result<std::unique_ptr<events::Trail>> OpenTrail(bool read_only);
  // One request to the running bucketd over its control socket (--socket,
  // $BUCKETD_SOCKET, else /run/bucketd/control.sock when it exists, else
  // STATE_DIR/control.sock). Unavailable when no bucketd answers there; the
  // reply otherwise (it may say {"ok": false, "error": …}).
  Result<nlohmann::json> Control(const nlohmann::json& request);
  // Prints "bucketctl: <message>" on stderr; returns exit code 1.
  static int Fail(const Status& s);

 private:
  Env& env_;
  std::string root_;
  std::string state_dir_;
  std::string config_dir_;
  std::string socket_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace bucketd::cli

#endif  // BUCKETD_CLI_CONTEXT_H_
