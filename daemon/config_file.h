// <config-dir>/bucketd.json: the daemon's settings (all optional).
//
//   {"Trail": {"Bucket": "bucketd-trail", "Prefix": "", "Account": "000000000000",
//              "Region": "local", "SealedRetentionDays": 90, "LocalRetentionDays": 7},
//    "Schedules": {"Persistent": true},
//    "Runner": {"Workers": 4, "RetryBaseSeconds": 1, "RetryMaxSeconds": 300,
//               "KillGraceSeconds": 10},
//    "Api": {"Listen": "127.0.0.1:4566"}}
//
// Without a config directory, or without the file, every default applies.
#ifndef BUCKETD_DAEMON_CONFIG_FILE_H_
#define BUCKETD_DAEMON_CONFIG_FILE_H_

#include <string>

#include "common/env.h"
#include "events/event_plane.h"
#include "runner/runner.h"

namespace bucketd::daemon {

struct FileConfig {
  events::EventPlaneOptions plane;
  bool schedules_persistent = true;  // run a firing missed while down once at start
  runner::RunnerOptions runner;
  std::string api_listen;  // the AWS API endpoint's "ADDR:PORT"; empty: none
  bool api_tls = false;    // Api.Tls: https, with api.crt and api.key from $CREDENTIALS_DIRECTORY
};

// Fills `config` from the file. InvalidArgument names the file, the
// position (byte offset or JSON pointer) and what was expected.
Status LoadConfigFile(Env& env, const std::string& config_dir, FileConfig* config);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_CONFIG_FILE_H_
