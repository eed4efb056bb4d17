// The sockets systemd passes (socket activation): which is the control
// socket and which the AWS API endpoint's.
//
// By name first (FileDescriptorName= in the .socket unit, LISTEN_FDNAMES):
// "control" and "api". A socket with another name (systemd names it after
// its unit when FileDescriptorName= is unset) goes by its kind: a Unix
// stream socket is the control socket, a TCP one the endpoint's. So
// today's single unnamed Unix socket (LISTEN_FDS=1) stays the control socket.
#ifndef BUCKETD_DAEMON_LISTEN_FDS_H_
#define BUCKETD_DAEMON_LISTEN_FDS_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace bucketd::daemon {

struct ListenFds {
  int control = -1;  // -1: bucketd binds its own
  int api = -1;
};

// Classifies `fds` (from SD_LISTEN_FDS_START on) with their `names`;
// InvalidArgument for two sockets of one role or one bucketd cannot use.
Result<ListenFds> ClassifyListenFds(const std::vector<int>& fds, const std::vector<std::string>& names);

// The sockets this process was passed, taken out of the environment (so
// that functions bucketd runs do not inherit LISTEN_FDS) and set CLOEXEC.
Result<ListenFds> TakeListenFds();

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_LISTEN_FDS_H_
