#include "runner/exec_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/unique_fd.h"

namespace bucketd::runner {

namespace {

Status WriteNewFile(int dir, const char* name, const std::string& data, bool exclusive) {
  UniqueFd fd(::openat(dir, name, O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC) | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::FromErrno(std::string("create ") + name, errno);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::write(fd.get(), data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::FromErrno(std::string("write ") + name, errno);
    done += static_cast<size_t>(w);
  }
  return Status::OK();
}

}  // namespace

void RemoveRunDir(const std::string& dir) {
  for (const char* f : {"/input", "/event.json", "/lock", "/output", "/status", "/status.tmp",
                        "/supervisor.pid", "/supervisor.pid.tmp", "/target.pgid", "/target.pgid.tmp"}) {
    ::unlink((dir + f).c_str());
  }
  ::rmdir(dir.c_str());
}

std::string RunDirName(const std::string& id, int attempt) {
  return id + "." + std::to_string(attempt);
}

namespace {

// Inputs and events larger than this go to files written by bucketd, not
// through the socket (a datagram has to fit the socket's buffer).
constexpr size_t kMaxInlineBytes = 96 << 10;

// The run directory and its lock file; the lock is taken before any
// supervisor has the attempt, so no moment passes in which the directory is
// there, unlocked and without a status, while the attempt is alive. With a
// spare (a directory made ahead, its lock file in it and its supervisor's
// files made by that supervisor) the run directory is a rename of it: no
// inode is allocated on the path from an event to its target, and a new
// directory's inode may lie in a block group no cache holds.
Result<UniqueFd> PrepareRunDir(const ExecSpec& spec, bool write_files, const std::string& spare,
                               UniqueFd spare_lock) {
  auto make = [&] {
    return spare.empty() ? ::mkdir(spec.run_dir.c_str(), 0700)
                         : ::renameat2(AT_FDCWD, spare.c_str(), AT_FDCWD, spec.run_dir.c_str(), RENAME_NOREPLACE);
  };
  int made = make();
  // A run directory left by a transaction that rolled back (bucketd died
  // before the commit; the same firing or replay makes the same id again)
  // never reached its target: it is taken over, not an error.
  if (made != 0 && errno == EEXIST && ProbeRun(spec.run_dir) != RunState::kRunning &&
      !ReachedTarget(spec.run_dir)) {
    RemoveRunDir(spec.run_dir);
    made = make();
  }
  if (made != 0) {
    Status failed = Status::FromErrno((spare.empty() ? "mkdir " : "rename " + spare + " to ") + spec.run_dir, errno);
    if (!spare.empty()) RemoveRunDir(spare);
    return failed;
  }
  UniqueFd dir(::open(spec.run_dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!dir.valid()) return Status::FromErrno("open " + spec.run_dir, errno);
  if (write_files) {
    // The spare's supervisor made these files (or makes them now): the same
    // inodes, written here.
    RETURN_IF_ERROR(WriteNewFile(dir.get(), "input", spec.input, spare.empty()));
    RETURN_IF_ERROR(WriteNewFile(dir.get(), "event.json", spec.event_json, spare.empty()));
  }
  UniqueFd lock = spare.empty() ? UniqueFd(::openat(dir.get(), "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600))
                                : std::move(spare_lock);
  if (!lock.valid() || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return Status::FromErrno("lock " + spec.run_dir + "/lock", errno);
  }
  return lock;
}

// "bucketd-supervisor --pool" in its own session, signals as a fresh process
// has them, the socket as stdin, stdout/stderr /dev/null, no environment;
// with a spare directory, "--spare" and the directory as its fd 4.
Result<pid_t> SpawnIdle(const std::string& program, int socket, int spare_dir) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, socket, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  if (spare_dir >= 0) posix_spawn_file_actions_adddup2(&fa, spare_dir, 4);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);  // bucketd blocks what its signalfd reads
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string flag = "--pool", spare_flag = "--spare";
  char* argv[] = {const_cast<char*>(program.c_str()), flag.data(), spare_dir >= 0 ? spare_flag.data() : nullptr,
                  nullptr};
  char* envp[] = {nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, program.c_str(), &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno("cannot start the supervisor " + program, rc);
  return pid;
}

std::string ToMs(int64_t ns) { return std::to_string(ns / 1'000'000); }

// The job datagram: NUL-terminated fields (mode, whether the run dir is the
// supervisor's spare, run dir, deadline, grace,
// memory, workdir, program, input length, event length, variable count,
// variables), then the input and the event bytes; a length of -1 means
// bucketd wrote that file itself.
std::string JobPayload(const ExecSpec& spec, bool hold, bool inline_data, bool spare) {
  std::string p;
  auto field = [&p](const std::string& f) {
    p += f;
    p.push_back('\0');
  };
  field(hold ? "hold" : "run");
  field(spare ? "spare" : "new");
  field(spec.run_dir);
  field(ToMs(spec.deadline_ns));
  field(ToMs(spec.grace_ns));
  field(std::to_string(spec.memory_mb));
  field(spec.working_directory);
  field(spec.program);
  field(inline_data ? std::to_string(spec.input.size()) : "-1");
  field(inline_data ? std::to_string(spec.event_json.size()) : "-1");
  field(std::to_string(spec.environment.size()));
  for (const auto& e : spec.environment) field(e);
  if (inline_data) p += spec.input + spec.event_json;
  return p;
}

bool SendJob(int socket, const std::string& payload, int lock_fd) {
  char cmsg[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov = {const_cast<char*>(payload.data()), payload.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cmsg;
  msg.msg_controllen = sizeof cmsg;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &lock_fd, sizeof lock_fd);
  return ::sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(payload.size());
}

}  // namespace

SupervisorPool::SupervisorPool(std::string supervisor, size_t size, std::string runs_dir, bool kill_after_run_dir)
    : supervisor_(std::move(supervisor)),
      size_(size),
      runs_dir_(std::move(runs_dir)),
      kill_after_run_dir_(kill_after_run_dir) {
  // Spares of an earlier bucketd (the state directory is one bucketd's).
  if (DIR* d = runs_dir_.empty() ? nullptr : ::opendir(runs_dir_.c_str())) {
    std::vector<std::string> stale;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strncmp(e->d_name, ".spare-", 7) == 0) stale.push_back(runs_dir_ + "/" + e->d_name);
    }
    ::closedir(d);
    for (const auto& dir : stale) RemoveRunDir(dir);
  }
}

SupervisorPool::~SupervisorPool() {
  for (auto& i : idle_) {
    ::close(i.socket);  // EOF: they exit
    if (!i.spare.empty()) RemoveRunDir(i.spare);  // what a supervisor still makes there, the next start removes
  }
}

Status SupervisorPool::AddIdle() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::FromErrno("socketpair", errno);
  }
  // A spare that cannot be made (a full disk) leaves the supervisor to make
  // its run directory as it comes.
  Idle idle{0, sv[0], "", UniqueFd()};
  UniqueFd spare_dir;
  if (!runs_dir_.empty()) {
    idle.spare = runs_dir_ + "/.spare-" + std::to_string(::getpid()) + "-" + std::to_string(++spares_made_);
    if (::mkdir(idle.spare.c_str(), 0700) == 0) {
      spare_dir = UniqueFd(::open(idle.spare.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
      if (spare_dir.valid()) idle.lock = UniqueFd(::openat(spare_dir.get(), "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    }
    if (!idle.lock.valid()) {
      RemoveRunDir(idle.spare);
      idle.spare.clear();
      spare_dir = UniqueFd();
    }
  }
  auto pid = SpawnIdle(supervisor_, sv[1], idle.lock.valid() ? spare_dir.get() : -1);
  ::close(sv[1]);
  if (!pid.ok()) {
    ::close(sv[0]);
    if (!idle.spare.empty()) RemoveRunDir(idle.spare);
    return pid.status();
  }
  idle.pid = *pid;
  idle_.push_back(std::move(idle));
  return Status::OK();
}

void SupervisorPool::Refill() {
  while (idle_.size() < size_ && AddIdle().ok()) {
  }
}

Result<pid_t> SupervisorPool::Start(const ExecSpec& spec) { return Hand(spec, false, nullptr); }

Result<SupervisorPool::Held> SupervisorPool::StartHeld(const ExecSpec& spec) {
  if (idle_.empty()) return Status::Unavailable("no idle supervisor");
  Held held;
  ASSIGN_OR_RETURN(held.pid, Hand(spec, true, &held.control));
  return held;
}

void SupervisorPool::Release(UniqueFd control, bool go) {
  char c = go ? 'g' : 'a';
  (void)::send(control.get(), &c, 1, MSG_NOSIGNAL);
}

Result<pid_t> SupervisorPool::Hand(const ExecSpec& spec, bool hold, UniqueFd* control) {
  bool inline_data = spec.input.size() + spec.event_json.size() <= kMaxInlineBytes;
  for (int tries = 0; tries < 3; ++tries) {
    if (idle_.empty()) {
      // A held start must not wait for a spawn; a plain one starts its own.
      RETURN_IF_ERROR(hold ? Status::Unavailable("no idle supervisor") : AddIdle());
    }
    Idle idle = std::move(idle_.back());
    idle_.pop_back();
    UniqueFd socket(idle.socket);  // closed unless handed on: EOF, and that supervisor exits
    ASSIGN_OR_RETURN(UniqueFd lock, PrepareRunDir(spec, !inline_data, idle.spare, std::move(idle.lock)));
    if (kill_after_run_dir_ && !hold) {
      ::raise(SIGKILL);  // test hook: bucketd dies between the run directory and the hand-over
    }
    if (SendJob(socket.get(), JobPayload(spec, hold, inline_data, !idle.spare.empty()), lock.get())) {
      if (control != nullptr) *control = std::move(socket);
      return idle.pid;
    }
    // That one is gone (killed?); the next brings a directory of its own.
    RemoveRunDir(spec.run_dir);
  }
  return Status::Unavailable("no supervisor took the attempt");
}

RunState ProbeRun(const std::string& run_dir) {
  UniqueFd lock(::open((run_dir + "/lock").c_str(), O_RDWR | O_CLOEXEC));
  struct stat st;
  if (!lock.valid()) {
    return ::stat(run_dir.c_str(), &st) == 0 ? RunState::kInterrupted : RunState::kMissing;
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return RunState::kRunning;
  // The lock is free, so the supervisor is gone and its status is final.
  return ::stat((run_dir + "/status").c_str(), &st) == 0 ? RunState::kFinished
                                                         : RunState::kInterrupted;
}

bool ReachedTarget(const std::string& run_dir) {
  struct stat st;
  return ::stat((run_dir + "/supervisor.pid").c_str(), &st) == 0;
}

namespace {
pid_t ReadPidFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return 0;
  char buf[32] = {};
  if (::read(fd.get(), buf, sizeof buf - 1) <= 0) return 0;
  return static_cast<pid_t>(std::strtol(buf, nullptr, 10));
}
}  // namespace

void KillTargetGroup(const std::string& run_dir) {
  pid_t pgid = ReadPidFile(run_dir + "/target.pgid");
  if (pgid > 1) (void)::kill(-pgid, SIGKILL);
}

void CancelRun(const std::string& run_dir) {
  // Only while its supervisor holds the lock: a finished run's pid may be
  // another process's by now.
  if (ProbeRun(run_dir) != RunState::kRunning) return;
  pid_t pid = ReadPidFile(run_dir + "/supervisor.pid");
  if (pid > 1) (void)::kill(pid, SIGTERM);
}

std::string ExecOutcome::Describe() const {
  if (!exec_error.empty()) return exec_error;
  if (not_started) return "handed over but never started";
  std::string s;
  if (timed_out) s = "timed out (function Timeout); ";
  if (signal != 0) return s + "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return s + "exit status " + std::to_string(exit_code);
}

Result<ExecOutcome> ReadOutcome(const std::string& run_dir) {
  std::string path = run_dir + "/status";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno("open " + path, errno);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ExecOutcome o;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    size_t sp = line.find(' ');
    std::string k = line.substr(0, sp), v = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (k == "exit") o.exit_code = std::atoi(v.c_str());
    if (k == "signal") o.signal = std::atoi(v.c_str());
    if (k == "timed_out") o.timed_out = v == "1";
    if (k == "exec_error") o.exec_error = v;
    if (k == "not_started") o.not_started = v == "1";
    if (k == "started_ns") o.started_ns = std::strtoll(v.c_str(), nullptr, 10);
    if (k == "finished_ns") o.finished_ns = std::strtoll(v.c_str(), nullptr, 10);
  }
  if (o.exit_code < 0 && o.signal == 0 && o.exec_error.empty() && !o.not_started) {
    return Status::IOError(path + ": no exit status in it");
  }
  return o;
}

std::vector<OutputLine> ReadOutput(const std::string& run_dir, uint64_t* offset) {
  std::vector<OutputLine> out;
  UniqueFd fd(::open((run_dir + "/output").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return out;
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = ::pread(fd.get(), buf, sizeof buf, static_cast<off_t>(*offset + text.size()))) > 0;) {
    text.append(buf, static_cast<size_t>(n));
  }
  size_t pos = 0;
  for (size_t nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    std::string line = text.substr(pos, nl - pos);
    OutputLine l;
    size_t a = line.find(' ');
    size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b == std::string::npos) continue;
    l.unix_ms = std::strtoll(line.c_str(), nullptr, 10);
    l.stream = line[a + 1] == '2' ? 2 : 1;
    l.text = line.substr(b + 1);
    out.push_back(std::move(l));
  }
  *offset += pos;
  return out;
}

std::map<std::string, int> LatestRunDirs(const std::string& runs_dir) {
  std::map<std::string, int> out;
  DIR* d = ::opendir(runs_dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    size_t dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0) continue;
    int attempt = std::atoi(name.c_str() + dot + 1);
    if (attempt <= 0) continue;
    int& best = out[name.substr(0, dot)];
    best = std::max(best, attempt);
  }
  ::closedir(d);
  return out;
}

}  // namespace bucketd::runner
