#include "tests/systemd/systemd_ns.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace bucketd::testing {

namespace {

// Host pid -> (parent, innermost namespace pid) for every process.
std::map<int, std::pair<int, int>> Processes() {
  std::map<int, std::pair<int, int>> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream status(std::string("/proc/") + e->d_name + "/status");
    std::string line;
    int ppid = 0, nspid = 0;
    while (std::getline(status, line)) {
      if (line.rfind("PPid:", 0) == 0) ppid = std::atoi(line.c_str() + 5);
      if (line.rfind("NSpid:", 0) == 0) {
        std::istringstream in(line.substr(6));
        for (int v; in >> v;) nspid = v;
      }
    }
    out[pid] = {ppid, nspid};
  }
  ::closedir(d);
  return out;
}

// The descendant of `ancestor` that is PID 1 of its namespace.
int FindNamespaceInit(int ancestor) {
  auto procs = Processes();
  for (const auto& [pid, info] : procs) {
    if (info.second != 1 || pid == 1) continue;
    for (int p = info.first; p > 1; p = procs.count(p) ? procs[p].first : 0) {
      if (p == ancestor) return pid;
    }
  }
  return -1;
}

}  // namespace

Result<std::unique_ptr<SystemdNamespace>> SystemdNamespace::Boot(const std::string& log, const std::string& overlay) {
  std::unique_ptr<SystemdNamespace> ns(new SystemdNamespace());
  std::string script = std::string(BUCKETD_SOURCE_DIR) + "/tests/systemd/ns-init.sh";
  std::string env = overlay.empty() ? "" : "BUCKETD_NS_OVERLAY=" + overlay + " ";
  // The checkout and the build tree stay visible when they are under the
  // namespace's private /tmp or /var/tmp.
  std::string bin = BinDir();
  env += "BUCKETD_NS_KEEP='" + std::string(BUCKETD_SOURCE_DIR) + " " + bin.substr(0, bin.rfind('/')) + "' ";
  ns->unshare_pid_ = Spawn({"/bin/sh", "-c",
                            "exec env " + env + "setsid -w unshare --pid --fork --mount --mount-proc bash " + script +
                                " >" + log + " 2>&1"});
  for (int i = 0; i < 500 && ns->systemd_pid_ < 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ns->systemd_pid_ = FindNamespaceInit(ns->unshare_pid_);
  }
  if (ns->systemd_pid_ < 0) return Status::Unavailable("systemd did not start in a namespace; see " + log);
  // Until its bus exists the answer is an error; then "starting", then
  // "running" (or "degraded" when a unit failed).
  RunResult up;
  for (int i = 0; i < 600; ++i) {
    up = ns->Inside({"systemctl", "is-system-running"});
    if (up.out == "running\n" || up.out == "degraded\n") {
      // The minimal target starts no journal; services under test log to one.
      auto journal = ns->Systemctl({"start", "systemd-journald.socket", "systemd-journald.service"});
      if (journal.exit_code != 0) return Status::Unavailable("cannot start journald: " + journal.err);
      return ns;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Unavailable("systemd in the namespace is '" + up.out + "' " + up.err + "; see " + log);
}

SystemdNamespace::~SystemdNamespace() {
  if (systemd_pid_ > 0) (void)Systemctl({"poweroff"});
  for (int i = 0; i < 1500; ++i) {
    int status;
    if (::waitpid(unshare_pid_, &status, WNOHANG) == unshare_pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // A stuck shutdown: killing PID 1 of the namespace ends everything in it.
  if (systemd_pid_ > 0) ::kill(systemd_pid_, SIGKILL);
  Wait(unshare_pid_);
}

RunResult SystemdNamespace::Inside(std::vector<std::string> argv, const std::string& input) const {
  // -r: its root too (the overlay's, when there is one).
  std::vector<std::string> full = {"/usr/bin/nsenter", "-t", std::to_string(systemd_pid_), "-m", "-p", "-r"};
  full.insert(full.end(), argv.begin(), argv.end());
  return Run(full, input);
}

RunResult SystemdNamespace::Systemctl(std::vector<std::string> args) const {
  args.insert(args.begin(), "systemctl");
  return Inside(args);
}

RunResult SystemdNamespace::Journalctl(std::vector<std::string> args) const {
  args.insert(args.begin(), {"journalctl", "--no-pager"});
  return Inside(args);
}

Status SystemdNamespace::InstallUnit(const std::string& name, const std::string& text) const {
  auto w = Inside({"/bin/sh", "-c", "cat > /run/systemd/system/" + name}, text);
  if (w.exit_code != 0) return Status::IOError("cannot install " + name + ": " + w.err);
  auto r = Systemctl({"daemon-reload"});
  if (r.exit_code != 0) return Status::IOError("daemon-reload: " + r.err);
  return Status::OK();
}

SharedDir::SharedDir() {
  std::string tmpl = BinDir() + "/../systemd-test-XXXXXX";
  char* made = ::mkdtemp(tmpl.data());
  if (made != nullptr) path_ = made;
}

SharedDir::~SharedDir() {
  if (!path_.empty()) (void)Run({"/bin/rm", "-rf", path_});
}

}  // namespace bucketd::testing
