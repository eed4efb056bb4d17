#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "events/open_check.h"

namespace bucketd::events {

OpenState CheckOpenForWriting(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return OpenState::kUnknown;
  // A writer opening the file while we hold the lease makes the kernel
  // signal us; SIGURG is ignored by default, unlike the default SIGIO, which
  // would kill the daemon. The lease is held for microseconds.
  (void)::fcntl(fd, F_SETSIG, SIGURG);
  OpenState state;
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
    (void)::fcntl(fd, F_SETLEASE, F_UNLCK);
    state = OpenState::kClosed;
  } else {
    state = errno == EAGAIN ? OpenState::kOpenForWriting : OpenState::kUnknown;
  }
  ::close(fd);
  return state;
}

}  // namespace bucketd::events
