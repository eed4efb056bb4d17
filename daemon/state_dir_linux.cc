#include "daemon/state_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bucketd::daemon {

Result<UniqueFd> LockStateDir(Env& env, const std::string& dir) {
  Fs& fs = env.fs();
  Status made = fs.MkdirAt(AT_FDCWD, dir, 0700);
  if (!made.ok() && !made.IsAlreadyExists()) {
    return Status(made.code(), "state directory: " + made.message());
  }
  ASSIGN_OR_RETURN(UniqueFd fd, fs.OpenAt(AT_FDCWD, dir + "/lock", O_RDWR | O_CREAT, 0600));
  // A record lock (fcntl), not flock: it belongs to this process alone, so
  // a child caught between fork and exec with a copy of the descriptor (a
  // supervisor being spawned when bucketd was killed) cannot keep the dead
  // bucketd's lock and refuse its restart.
  struct flock l = {};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  bool got = ::fcntl(fd.get(), F_SETLK, &l) == 0;
  if (!got && errno != EACCES && errno != EAGAIN) return Status::FromErrno("lock " + dir + "/lock", errno);
  if (!got) {
    std::string holder(32, '\0');
    auto n = fs.PRead(fd.get(), holder.data(), holder.size(), 0);
    holder.resize(n.ok() ? *n : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    return Status::AlreadyExists("state directory '" + dir + "' is in use by another bucketd" +
                                 (holder.empty() ? "" : " (pid " + holder + ")"));
  }
  if (::ftruncate(fd.get(), 0) != 0) return Status::FromErrno("truncate " + dir + "/lock", errno);
  Status wrote = fs.WriteAll(fd.get(), std::to_string(::getpid()) + "\n");
  if (!wrote.ok()) {
    // The first write of a start: on a full disk, say so in those words.
    bool full = wrote.message().find(std::strerror(ENOSPC)) != std::string::npos;
    return Status(wrote.code(), "state directory '" + dir + "': " +
                                    (full ? "no space left on device" : wrote.message()) +
                                    " (writing its lock file)");
  }
  return fd;
}

}  // namespace bucketd::daemon
