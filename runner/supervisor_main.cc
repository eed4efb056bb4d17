// bucketd-supervisor: runs one attempt of an exec target and records how it
// ended, durably, in the attempt's run directory. One supervisor per running
// target, in its own session, so the target outlives a crash of bucketd: the
// next bucketd re-attaches (the supervisor still holds the run's lock) or
// collects the status file it left (runner/exec_run.h has the layout).
//
//   bucketd-supervisor --pool
//
// started ahead of need; it waits on its stdin (a socket) for one attempt:
// the run directory, deadline, grace period, memory cap, working directory,
// program, the target's (clean) environment, its input and event, and the
// run's lock file, already locked by bucketd, which the supervisor keeps
// until the status file is in place. The target gets RUN_DIR/input on stdin;
// its stdout/stderr lines go to RUN_DIR/output as "<unix ms> <1|2> <text>".
// At the deadline its process group gets SIGTERM, GRACE_MS later SIGKILL.
//
// Started before it is needed, so its own exec is not on the path from an
// event to its target; linked statically, so no library upgrade can change
// under a supervisor that runs for hours.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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

// false when not everything was written (ENOSPC, EIO).
bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
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
    (void)WriteAll(fd, line.data(), line.size());  // a full disk loses output lines, nothing else
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
// Written under a temporary name and renamed, so a reader sees the whole
// file or none; `durable` adds the fsyncs the status file needs.
bool ReplaceFile(int dir, const char* name, const std::string& text, bool durable) {
  std::string tmp = std::string(name) + ".tmp";
  int fd = openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = WriteAll(fd, text.data(), text.size()) && (!durable || fsync(fd) == 0);
  close(fd);
  if (!ok) {
    unlinkat(dir, tmp.c_str(), 0);  // a short file must never become the status
    return false;
  }
  ok = ok && renameat(dir, tmp.c_str(), dir, name) == 0;
  return ok && (!durable || fsync(dir) == 0);
}

// A status that cannot be written (the state directory is full) is retried
// with the lock held: bucketd sees the attempt as still running instead of
// cut off, so a target that finished is not run again; the status lands once
// there is room. After a day of failures the supervisor gives up.
void WriteStatus(int dir, const std::string& text) {
  for (int tries = 0; tries < 86400; ++tries) {
    if (ReplaceFile(dir, "status", text, true)) return;
    sleep(1);
  }
  _exit(4);
}

// vfork + exec, as posix_spawn does it (the target starts sooner than after
// a fork, and an exec failure comes back as the return value), plus what
// posix_spawn cannot set: PR_SET_PDEATHSIG, so a supervisor killed with
// SIGKILL takes its target with it instead of leaving it to run on past its
// deadline unsupervised. The target gets a process group of its own, so a
// timeout, the end of the attempt or bucketd's reaper stops everything it
// started. Its memory cap is set on the supervisor beforehand and inherited.
int SpawnTarget(const std::string& run_dir, const char* workdir, const char* program, int out_w,
                int err_w, pid_t* pid) {
  std::string input = run_dir + "/input";
  char* argv[] = {const_cast<char*>(program), nullptr};
  pid_t parent = getpid();
  volatile int child_errno = 0;  // written by the child, which shares our memory until exec
  pid_t child = vfork();
  if (child < 0) return errno;
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the supervisor is gone already
    int in = open(input.c_str(), O_RDONLY);
    if (in < 0 || (in != 0 && dup2(in, 0) != 0) || dup2(out_w, 1) != 1 || dup2(err_w, 2) != 2 ||
        (*workdir != '\0' && chdir(workdir) != 0)) {
      child_errno = errno;
      _exit(127);
    }
    close_range(3, ~0U, 0);  // stdio only
    execve(program, argv, environ);
    child_errno = errno;
    _exit(127);
  }
  *pid = child;
  if (child_errno != 0) {
    waitpid(child, nullptr, 0);
    return child_errno;
  }
  return 0;
}

struct Job {
  bool hold = false;  // set up, then wait on fd 0 for 'g' (go) before starting the target
  bool spare = false;  // the run directory is this supervisor's spare (fd 4), its files made
  std::string run_dir, workdir, program;
  int64_t deadline_ms = 0, grace_ms = 0;
  long memory_mb = 0;
  std::vector<std::string> environment;
  bool has_data = false;  // input and event came in the job (else bucketd wrote the files)
  std::string input, event;
};

// Waits on fd 0 (a SOCK_SEQPACKET socket) for one job (the layout is
// JobPayload's in runner/exec_run.cc) with the run's locked lock file as
// SCM_RIGHTS. EOF (bucketd went away) ends it.
bool ReceiveJob(Job* job) {
  static char buf[1 << 20];
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {buf, sizeof buf};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(0, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  int lock = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&lock, CMSG_DATA(c), sizeof lock);
  }
  if (lock < 0) return false;
  if (lock != 3) {  // fd 3, held until the status is written
    if (dup2(lock, 3) != 3) return false;
    close(lock);
  }
  size_t pos = 0, size = static_cast<size_t>(n);
  auto field = [&](std::string* out) {
    if (pos >= size) return false;
    size_t len = strnlen(buf + pos, size - pos);
    if (pos + len >= size) return false;
    out->assign(buf + pos, len);
    pos += len + 1;
    return true;
  };
  std::string mode, spare, deadline, grace, memory, input_len, event_len, count;
  if (!field(&mode) || !field(&spare) || !field(&job->run_dir) || !field(&deadline) || !field(&grace) || !field(&memory) ||
      !field(&job->workdir) || !field(&job->program) || !field(&input_len) || !field(&event_len) ||
      !field(&count)) {
    return false;
  }
  job->hold = mode == "hold";
  job->spare = spare == "spare";
  job->deadline_ms = std::strtoll(deadline.c_str(), nullptr, 10);
  job->grace_ms = std::strtoll(grace.c_str(), nullptr, 10);
  job->memory_mb = std::strtol(memory.c_str(), nullptr, 10);
  for (long i = std::strtol(count.c_str(), nullptr, 10); i > 0; --i) {
    std::string e;
    if (!field(&e)) return false;
    job->environment.push_back(std::move(e));
  }
  long long in = std::strtoll(input_len.c_str(), nullptr, 10), ev = std::strtoll(event_len.c_str(), nullptr, 10);
  if (in >= 0 && ev >= 0) {
    if (pos + static_cast<size_t>(in) + static_cast<size_t>(ev) != size) return false;
    job->has_data = true;
    job->input.assign(buf + pos, static_cast<size_t>(in));
    job->event.assign(buf + pos + in, static_cast<size_t>(ev));
  }
  return true;
}

bool WriteNew(int dir, const char* name, const std::string& data) {
  int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = WriteAll(fd, data.data(), data.size());
  close(fd);
  return ok;
}

// What a supervisor with a spare directory (fd 4) makes while it waits, so
// that none of it is on the path from an event to its target: the files of
// a run directory, and supervisor.pid under its temporary name.
struct Spare {
  int dir = -1, input = -1, event = -1, output = -1;
  bool pid_ready = false;
};

// supervisor.pid under its temporary name: in place, it is one rename.
bool WritePidAhead(int dir) {
  std::string pid_text = std::to_string(getpid()) + "\n";
  int pid_fd = openat(dir, "supervisor.pid.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ready = pid_fd >= 0 && WriteAll(pid_fd, pid_text.data(), pid_text.size());
  if (pid_fd >= 0) close(pid_fd);
  return ready;
}

// Fd 3 is for the lock, 4 the directory: the spare's files are 5, 6 and 7.
int Place(int fd, int at) {
  if (fd < 0 || fd == at) return fd;
  int placed = dup3(fd, at, O_CLOEXEC);
  close(fd);
  return placed;
}

Spare MakeSpare() {
  Spare s;
  if (fcntl(4, F_GETFD) < 0) return s;
  (void)fcntl(4, F_SETFD, FD_CLOEXEC);
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  s.input = Place(openat(4, "input", flags, 0600), 5);
  s.event = Place(openat(4, "event.json", flags, 0600), 6);
  s.output = Place(openat(4, "output", flags | O_APPEND, 0600), 7);
  s.pid_ready = WritePidAhead(4);
  if (s.input >= 0 && s.event >= 0 && s.output >= 0) s.dir = 4;
  return s;
}

int Supervise(const Job& job, const Spare& spare);

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || std::strcmp(argv[1], "--pool") != 0 || (argc == 3 && std::strcmp(argv[2], "--spare") != 0)) {
    std::fprintf(stderr,
                 "usage: bucketd-supervisor --pool [--spare] (started by bucketd, which hands it one attempt "
                 "of an exec target through the socket on its stdin; --spare: fd 4 is the run directory "
                 "to be)\n");
    return 2;
  }
  // bucketd's unit grants it CAP_LEASE as an ambient capability, which
  // execve passes on; targets have no use for it, so it ends here.
  (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  Spare spare;
  if (argc == 3 && std::strcmp(argv[2], "--spare") == 0) spare = MakeSpare();
  Job job;
  if (!ReceiveJob(&job)) return 0;
  // bucketd renamed the spare into the run directory exactly when it says
  // so; a spare not made whole here is no spare.
  if (!job.spare || spare.dir < 0) spare = Spare{};
  return Supervise(job, spare);
}

namespace {

int Supervise(const Job& job, const Spare& spare) {
  const char* run_dir = job.run_dir.c_str();
  const char* workdir = job.workdir.c_str();
  const char* program = job.program.c_str();
  int64_t deadline_ms = job.deadline_ms, grace_ms = job.grace_ms;
  long memory_mb = job.memory_mb;
  std::vector<char*> envp;
  for (const auto& e : job.environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  environ = envp.data();
  int64_t started_ns = NowNs();

  // Nothing of bucketd's but the lock (fd 3) and, in the pool, the socket
  // (fd 0) stays open here (and what this supervisor made in its spare).
  bool made = spare.dir >= 0;
  close_range(made ? 8 : 4, ~0U, 0);
  int dir = made ? spare.dir : open(run_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dir < 0) return 3;
  // A target must never see half its input: without room for it, the
  // target does not start (no supervisor.pid; bucketd queues it again).
  if (job.has_data) {
    bool written = made ? WriteAll(spare.input, job.input.data(), job.input.size()) &&
                              WriteAll(spare.event, job.event.data(), job.event.size())
                        : WriteNew(dir, "input", job.input) && WriteNew(dir, "event.json", job.event);
    if (!written) return 5;
  }
  if (made) {
    close(spare.input);
    close(spare.event);
  }
  OutputLog log;
  log.fd = made ? spare.output : openat(dir, "output", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log.fd < 0) return 3;

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigaddset(&chld, SIGTERM);  // bucketctl runs cancel: the target is stopped as at a timeout
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  int out[2], err[2];
  if (sigfd < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return 3;
  if (memory_mb > 0) {
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(memory_mb) << 20;
    setrlimit(RLIMIT_AS, &rl);
  }
  // supervisor.pid is written ahead under its temporary name; putting it in
  // place just before the target starts is then one rename, off the path
  // from the commit to the target's start as far as it can be.
  bool pid_ready = made ? spare.pid_ready : WritePidAhead(dir);
  if (job.hold) {
    // bucketd handed this attempt over before its invocation was durable;
    // the target starts only when bucketd says the commit is done. Anything
    // else (abort, or bucketd gone) leaves a status saying it never started.
    char go = 0;
    ssize_t n;
    do {
      n = read(0, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1 || go != 'g') {
      WriteStatus(dir, "started_ns " + std::to_string(started_ns) + "\nfinished_ns " +
                           std::to_string(NowNs()) + "\nnot_started 1\n");
      return 0;
    }
    started_ns = NowNs();
  }
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  dup2(null, 0);
  close(null);
  // Before the target starts: a run directory without supervisor.pid is an
  // attempt that never reached its target (bucketd died while handing it
  // over), which costs no attempt.
  if (!pid_ready || renameat(dir, "supervisor.pid.tmp", dir, "supervisor.pid") != 0) {
    unlinkat(dir, "supervisor.pid.tmp", 0);
    return 5;  // no room to say the target started: it does not start (bucketd queues it again)
  }
  pid_t pid = 0;
  int rc = SpawnTarget(run_dir, workdir, program, out[1], err[1], &pid);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    WriteStatus(dir, "started_ns " + std::to_string(started_ns) + "\nfinished_ns " +
                         std::to_string(NowNs()) + "\nexec_error cannot execute " + program + ": " +
                         std::strerror(rc) + "\n");
    return 0;
  }
  std::string exec_error;
  // The target's process group, for bucketd's reaper should this
  // supervisor die: PDEATHSIG reaches the target, not what it started.
  ReplaceFile(dir, "target.pgid", std::to_string(pid) + "\n", false);

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
      if (si.ssi_signo == SIGTERM && !timed_out) {
        timed_out = true;
        kill(-pid, SIGTERM);
        kill_at_ms = NowMs() + grace_ms;
        log.Line(2, "[bucketd: cancelled; SIGTERM sent]");
      }
    }
    if (waitpid(pid, &wstatus, WNOHANG) == pid) exited = true;
  }
  // What the target printed last, and whatever its leftovers hold open, is
  // read without waiting; then the leftovers of its group go.
  for (int i = 0; i < 2; ++i) {
    if (open_stream[i]) streams[i].Drain(log);
  }
  kill(-pid, SIGKILL);

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

}  // namespace
