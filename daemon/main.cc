// bucketd: the daemon's entry point; parses flags and wires the modules.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"
#include "daemon/logging.h"

int main(int argc, char** argv) {
  // To the journal under systemd, else to stderr; stdout stays unused.
  bucketd::daemon::InitLogging("bucketd");
  bucketd::daemon::Config config;
  CLI::App app{"bucketd: a local S3-like bucket with CloudTrail/EventBridge-style pipelines"};
  app.add_option("--root", config.root, "store root: buckets live in ROOT/buckets/<bucket>/ (default /srv/bucketd)")
      ->envname("BUCKETD_ROOT");
  app.add_option("--config-dir", config.config_dir,
                 "bucketd.json, rules.d/, functions.d/ (default $CONFIGURATION_DIRECTORY, else /etc/bucketd "
                 "when it exists, else none: no rules)");
  app.add_option("--rules-dir", config.rules_dir, "rule files (default CONFIG_DIR/rules.d)");
  app.add_option("--functions-dir", config.functions_dir, "function files (default CONFIG_DIR/functions.d)");
  app.add_option("--socket", config.socket,
                 "control socket (default $RUNTIME_DIRECTORY/control.sock, else STATE_DIR/control.sock)");
  app.add_option("--state-dir", config.state_dir,
                 "state directory (default $STATE_DIRECTORY, else ROOT/.bucketd)");
  app.add_option("--api-listen", config.api_listen,
                 "serve the AWS API (S3) endpoint on ADDR:PORT, e.g. 127.0.0.1:4566 (default: bucketd.json's "
                 "Api.Listen, else none)");
  app.add_flag("--api-tls", config.api_tls,
               "serve the endpoint over https, with api.crt and api.key from $CREDENTIALS_DIRECTORY "
               "(default: bucketd.json's Api.Tls)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "bucketd: %s\n", e.what());
    return 2;
  }
  bucketd::Status s = bucketd::daemon::ResolveConfig(&config);
  if (s.ok()) s = bucketd::daemon::Run(bucketd::Env::Default(), config);
  if (!s.ok()) {
    spdlog::error("bucketd: {}", s.ToString());
    return s.code() == bucketd::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
