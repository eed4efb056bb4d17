// bucketd runs the programs its configuration names, so the configuration
// must be writable by nobody but its owner: a config directory, rules.d,
// functions.d or a file in them that another user could change is refused.
#ifndef BUCKETD_DAEMON_CONFIG_PERMISSIONS_H_
#define BUCKETD_DAEMON_CONFIG_PERMISSIONS_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace bucketd::daemon {

// PermissionDenied naming the path, its mode or owner, and the fix, when
// `config_dir` or what bucketd reads in it is writable by group or others or
// owned by someone other than bucketd's user or root.
// `config_dir` may be empty; the rule and function directories are checked
// wherever they are.
Status CheckConfigPermissions(const std::string& config_dir, const std::vector<std::string>& dirs);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_CONFIG_PERMISSIONS_H_
