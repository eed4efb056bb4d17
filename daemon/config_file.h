// <config-dir>/bucketd.json: the daemon's settings (all optional).
//
//   {"Trail": {"Bucket": "bucketd-trail", "Prefix": "", "Account": "000000000000",
//              "Region": "local", "SealedRetentionDays": 90, "LocalRetentionDays": 7}}
//
// Without a config directory, or without the file, every default applies.
#ifndef BUCKETD_DAEMON_CONFIG_FILE_H_
#define BUCKETD_DAEMON_CONFIG_FILE_H_

#include <string>

#include "common/env.h"
#include "events/event_plane.h"

namespace bucketd::daemon {

// Fills `options` from the file. InvalidArgument names the file, the
// position (byte offset or JSON pointer) and what was expected.
Status LoadConfigFile(Env& env, const std::string& config_dir, events::EventPlaneOptions* options);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_CONFIG_FILE_H_
