#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "events/open_check.h"

namespace bucketd::events {

ReadLease::ReadLease(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  fd_ = UniqueFd(fd);
  // A writer opening the file while we hold the lease makes the kernel
  // signal us; SIGURG is ignored by default, unlike the default SIGIO, which
  // would kill the daemon.
  (void)::fcntl(fd, F_SETSIG, SIGURG);
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
    state_ = OpenState::kClosed;
  } else {
    state_ = errno == EAGAIN ? OpenState::kOpenForWriting : OpenState::kUnknown;
    fd_ = UniqueFd();
  }
}

bool ReadLease::Broken() const {
  // During a break F_GETLEASE reports the type the lease is being broken
  // to: F_UNLCK for a writer.
  return state_ == OpenState::kClosed && ::fcntl(fd_.get(), F_GETLEASE) != F_RDLCK;
}

}  // namespace bucketd::events
