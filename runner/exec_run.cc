#include "runner/exec_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/unique_fd.h"

namespace bucketd::runner {

namespace {

Status WriteNewFile(int dir, const char* name, const std::string& data) {
  UniqueFd fd(::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
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

std::string ToMs(int64_t ns) { return std::to_string(ns / 1'000'000); }

}  // namespace

std::string RunDirName(const std::string& id, int attempt) {
  return id + "." + std::to_string(attempt);
}

Result<pid_t> StartExec(const ExecSpec& spec) {
  if (::mkdir(spec.run_dir.c_str(), 0700) != 0) {
    return Status::FromErrno("mkdir " + spec.run_dir, errno);
  }
  UniqueFd dir(::open(spec.run_dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!dir.valid()) return Status::FromErrno("open " + spec.run_dir, errno);
  RETURN_IF_ERROR(WriteNewFile(dir.get(), "input", spec.input));
  RETURN_IF_ERROR(WriteNewFile(dir.get(), "event.json", spec.event_json));
  // Locked before the supervisor exists, so no moment passes in which the
  // run directory is there, unlocked and without a status, while the
  // attempt is alive.
  UniqueFd lock(::openat(dir.get(), "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid() || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return Status::FromErrno("lock " + spec.run_dir + "/lock", errno);
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, lock.get(), 3);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);  // bucketd blocks what its signalfd reads
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string deadline = ToMs(spec.deadline_ns), grace = ToMs(spec.grace_ns),
              memory = std::to_string(spec.memory_mb);
  std::vector<char*> argv = {const_cast<char*>(spec.supervisor.c_str()),
                             const_cast<char*>(spec.run_dir.c_str()),
                             deadline.data(),
                             grace.data(),
                             memory.data(),
                             const_cast<char*>(spec.working_directory.c_str()),
                             const_cast<char*>(spec.program.c_str()),
                             nullptr};
  std::vector<char*> envp;
  for (const auto& e : spec.environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, spec.supervisor.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno("cannot start the supervisor " + spec.supervisor, rc);
  return pid;
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

std::string ExecOutcome::Describe() const {
  if (!exec_error.empty()) return exec_error;
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
    if (k == "started_ns") o.started_ns = std::strtoll(v.c_str(), nullptr, 10);
    if (k == "finished_ns") o.finished_ns = std::strtoll(v.c_str(), nullptr, 10);
  }
  if (o.exit_code < 0 && o.signal == 0 && o.exec_error.empty()) {
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
