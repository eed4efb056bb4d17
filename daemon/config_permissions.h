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

// The same check for a program bucketd runs, a working directory or a
// directory of SQL files (and, for a directory, its files), and for every
// directory above it: another user who can write any of them could put
// their code in its place. A world-writable ancestor with the sticky bit
// (/tmp) is fine, since the entry below it is checked too. `what` names the
// path's role in the message ("/Handler of function Etl (f.json)").
Status CheckTrustedPath(const std::string& path, const std::string& what, bool with_files = false);

// A state directory that exists already must be bucketd's (or root's) and
// writable by nobody else: it holds the queue that says what runs.
Status CheckStateDirPermissions(const std::string& dir);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_CONFIG_PERMISSIONS_H_
