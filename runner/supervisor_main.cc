// bucketd-supervisor: runs one attempt of an exec target and records how it
// ended, durably, in the attempt's run directory. One supervisor per running
// target, in its own session, so the target outlives a crash of bucketd: the
// next bucketd re-attaches (the supervisor still holds the run's lock) or
// collects the status file it left (runner/exec_run.h has the layout).
//
//   bucketd-supervisor RUN_DIR DEADLINE_UNIX_MS GRACE_MS MEMORY_MB WORKDIR PROGRAM
//
// fd 3 is the run's lock file, already locked by bucketd; the supervisor
// keeps it until the status file is in place. Its own environment is the
// target's (bucketd built it clean). The target gets RUN_DIR/input on stdin;
// its stdout/stderr lines go to RUN_DIR/output as "<unix ms> <1|2> <text>".
// At the deadline its process group gets SIGTERM, GRACE_MS later SIGKILL.
//
// Linked statically and kept to libc, so starting it costs little more than
// the target's own exec (it is on the path from an event to its target).
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace {

constexpr size_t kMaxOutputBytes = 16 << 20;  // beyond this, lines are dropped (and that is said)
constexpr size_t kMaxLineBytes = 64 << 10;

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

struct OutputLog {
  int fd = -1;
  size_t written = 0;
  bool truncated = false;
  void Line(int stream, const std::string& text) {
    if (truncated) return;
    std::string line = std::to_string(NowMs()) + " " + std::to_string(stream) + " " + text + "\n";
    if (written + line.size() > kMaxOutputBytes) {
      line = std::to_string(NowMs()) + " 2 [bucketd: output beyond 16 MiB dropped]\n";
      truncated = true;
    }
    WriteAll(fd, line.data(), line.size());
    written += line.size();
  }
};

struct Stream {
  int fd = -1;
  int number = 1;
  std::string partial;
  // Reads what is there; returns false at end of file.
  bool Drain(OutputLog& log) {
    char buf[8192];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN;
      if (n == 0) {
        if (!partial.empty()) log.Line(number, partial);
        partial.clear();
        return false;
      }
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == '\n' || partial.size() >= kMaxLineBytes) {
          log.Line(number, partial);
          partial.clear();
          if (buf[i] == '\n') continue;
        }
        partial.push_back(buf[i]);
      }
    }
  }
};

// Writes the status file atomically and durably: what bucketd reads to learn
// the attempt's outcome, also after it crashed.
void WriteStatus(int dir, const std::string& text) {
  int fd = openat(dir, "status.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) _exit(4);
  WriteAll(fd, text.data(), text.size());
  if (fsync(fd) != 0) _exit(4);
  close(fd);
  if (renameat(dir, "status.tmp", dir, "status") != 0) _exit(4);
  if (fsync(dir) != 0) _exit(4);
}

[[noreturn]] void ExecTarget(int dir, const char* workdir, long memory_mb, const char* program,
                             int out_w, int err_w, int report_w) {
  setpgid(0, 0);  // its own process group: a timeout stops everything it started
  int in = openat(dir, "input", O_RDONLY | O_CLOEXEC);
  auto fail = [&](int err) {
    int e = err;
    WriteAll(report_w, reinterpret_cast<const char*>(&e), sizeof e);
    _exit(127);
  };
  if (in < 0) fail(errno);
  if (dup2(in, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) fail(errno);
  if (*workdir != '\0' && chdir(workdir) != 0) fail(errno);
  if (memory_mb > 0) {
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(memory_mb) << 20;
    if (setrlimit(RLIMIT_AS, &rl) != 0) fail(errno);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Everything above stdio closes at exec; the report pipe only if exec works.
  if (close_range(3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != report_w) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  char* argv[] = {const_cast<char*>(program), nullptr};
  execve(program, argv, environ);
  fail(errno);
  _exit(127);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: bucketd-supervisor RUN_DIR DEADLINE_UNIX_MS GRACE_MS MEMORY_MB WORKDIR "
                 "PROGRAM (started by bucketd)\n");
    return 2;
  }
  const char* run_dir = argv[1];
  int64_t deadline_ms = std::strtoll(argv[2], nullptr, 10);
  int64_t grace_ms = std::strtoll(argv[3], nullptr, 10);
  long memory_mb = std::strtol(argv[4], nullptr, 10);
  const char* workdir = argv[5];
  const char* program = argv[6];
  int64_t started_ns = NowNs();

  int dir = open(run_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dir < 0) return 3;
  OutputLog log;
  log.fd = openat(dir, "output", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log.fd < 0) return 3;

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  int out[2], err[2], report[2];
  if (sigfd < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
      pipe2(report, O_CLOEXEC) != 0) {
    return 3;
  }
  pid_t pid = fork();
  if (pid < 0) {
    WriteStatus(dir, "started_ns " + std::to_string(started_ns) + "\nfinished_ns " +
                         std::to_string(NowNs()) + "\nexec_error cannot fork: " +
                         std::strerror(errno) + "\n");
    return 0;
  }
  if (pid == 0) ExecTarget(dir, workdir, memory_mb, program, out[1], err[1], report[1]);
  setpgid(pid, pid);  // also here, so the group exists before any kill below
  close(out[1]);
  close(err[1]);
  close(report[1]);
  std::string exec_error;
  int child_errno = 0;
  if (read(report[0], &child_errno, sizeof child_errno) == sizeof child_errno) {
    exec_error = std::string("cannot execute ") + program + ": " + std::strerror(child_errno);
  }
  close(report[0]);

  Stream streams[2];
  streams[0].fd = out[0];
  streams[0].number = 1;
  streams[1].fd = err[0];
  streams[1].number = 2;
  for (auto& s : streams) fcntl(s.fd, F_SETFL, O_NONBLOCK);
  bool open_stream[2] = {true, true};
  bool exited = false, timed_out = false;
  int wstatus = 0;
  int64_t kill_at_ms = 0;
  while (!exited) {
    int64_t now = NowMs();
    if (!timed_out && now >= deadline_ms) {
      timed_out = true;
      kill(-pid, SIGTERM);
      kill_at_ms = now + grace_ms;
      log.Line(2, "[bucketd: timed out; SIGTERM sent]");
    }
    if (timed_out && kill_at_ms != 0 && now >= kill_at_ms) {
      kill(-pid, SIGKILL);
      kill_at_ms = 0;
      log.Line(2, "[bucketd: still running " + std::to_string(grace_ms) + " ms after SIGTERM; SIGKILL sent]");
    }
    int64_t wake = timed_out ? (kill_at_ms != 0 ? kill_at_ms : now + 1000) : deadline_ms;
    int timeout = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(wake - now, 1000)));
    struct pollfd p[3] = {{sigfd, POLLIN, 0},
                          {open_stream[0] ? streams[0].fd : -1, POLLIN, 0},
                          {open_stream[1] ? streams[1].fd : -1, POLLIN, 0}};
    if (poll(p, 3, timeout) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (open_stream[i] && (p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) {
        open_stream[i] = streams[i].Drain(log);
      }
    }
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) == sizeof si) {
    }
    if (waitpid(pid, &wstatus, WNOHANG) == pid) exited = true;
  }
  // What the target printed last, and whatever its leftovers hold open, is
  // read without waiting; then the leftovers of its group go.
  for (int i = 0; i < 2; ++i) {
    if (open_stream[i]) streams[i].Drain(log);
  }
  kill(-pid, SIGKILL);
  fsync(log.fd);

  std::string status = "started_ns " + std::to_string(started_ns) + "\nfinished_ns " +
                       std::to_string(NowNs()) + "\n";
  if (!exec_error.empty()) {
    status += "exec_error " + exec_error + "\n";
  } else if (WIFEXITED(wstatus)) {
    status += "exit " + std::to_string(WEXITSTATUS(wstatus)) + "\n";
  } else if (WIFSIGNALED(wstatus)) {
    status += "signal " + std::to_string(WTERMSIG(wstatus)) + "\n";
  }
  if (timed_out) status += "timed_out 1\n";
  WriteStatus(dir, status);
  return 0;
}
