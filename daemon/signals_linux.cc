#include "daemon/signals_linux.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

namespace bucketd::daemon {

Result<UniqueFd> OpenSignalFd() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGCHLD);  // exec targets' supervisors
  sigaddset(&mask, SIGUSR1);  // test hook (daemon.cc)
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return Status::FromErrno("sigprocmask", errno);
  int fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return Status::FromErrno("signalfd", errno);
  return UniqueFd(fd);
}

Result<int> ReadSignal(int signal_fd) {
  struct signalfd_siginfo info;
  ssize_t n = ::read(signal_fd, &info, sizeof(info));
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return 0;
    return Status::FromErrno("read signalfd", errno);
  }
  return static_cast<int>(info.ssi_signo);
}

}  // namespace bucketd::daemon
