// Blocks SIGTERM, SIGINT and SIGHUP and delivers them through a signalfd,
// so the main loop can poll for them with its other descriptors.
#ifndef BUCKETD_DAEMON_SIGNALS_LINUX_H_
#define BUCKETD_DAEMON_SIGNALS_LINUX_H_

#include "common/status.h"
#include "common/unique_fd.h"

namespace bucketd::daemon {

// REQUIRES: called before any thread is started (the mask is inherited).
Result<UniqueFd> OpenSignalFd();
// Reads one pending signal number; 0 when none is pending.
Result<int> ReadSignal(int signal_fd);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_SIGNALS_LINUX_H_
