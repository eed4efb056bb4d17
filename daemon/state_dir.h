// The state directory and its lock file.
#ifndef BUCKETD_DAEMON_STATE_DIR_H_
#define BUCKETD_DAEMON_STATE_DIR_H_

#include <string>

#include "common/env.h"
#include "common/status.h"

namespace bucketd::daemon {

// Creates `dir` if needed (mode 0700: it will hold the trail and queue) and
// takes an exclusive lock on dir/lock for the life of the returned fd.
// AlreadyExists when another process holds it, naming that process.
Result<UniqueFd> LockStateDir(Env& env, const std::string& dir);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_STATE_DIR_H_
