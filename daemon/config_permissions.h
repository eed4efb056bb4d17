// bucketd runs the programs its configuration names, so the configuration
// must be writable by nobody but its owner: a config directory, rules.d,
// functions.d or a file in them that another user could change is refused.
#ifndef BUCKETD_DAEMON_CONFIG_PERMISSIONS_H_
#define BUCKETD_DAEMON_CONFIG_PERMISSIONS_H_

#include <string>

#include "common/status.h"

namespace bucketd::daemon {

// PermissionDenied naming the path, its mode or owner, and the fix, when
// `config_dir` or what bucketd reads in it is writable by group or others or
// owned by someone other than bucketd's user or root.
Status CheckConfigPermissions(const std::string& config_dir);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_CONFIG_PERMISSIONS_H_
