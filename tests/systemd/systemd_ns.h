// A real systemd, booted as PID 1 of a PID + mount namespace (tests/systemd/
// ns-init.sh), for tests of bucketd as a service. Needs root. Test data must
// live outside /run, /tmp and /var/tmp (the namespace has its own).
#ifndef BUCKETD_TESTS_SYSTEMD_SYSTEMD_NS_H_
#define BUCKETD_TESTS_SYSTEMD_SYSTEMD_NS_H_

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/test_util.h"

namespace bucketd::testing {

class SystemdNamespace {
 public:
  // Boots systemd and waits until it runs; `log` gets its console output.
  // With `overlay` (a directory outside /tmp), the namespace sees a
  // copy-on-write view of / whose changes land there: a test may install a
  // package in it.
  static Result<std::unique_ptr<SystemdNamespace>> Boot(const std::string& log, const std::string& overlay = "");
  // Powers it off (systemctl poweroff), also when the test failed.
  ~SystemdNamespace();

  // systemctl / journalctl / any command inside the namespace.
  RunResult Systemctl(std::vector<std::string> args) const;
  RunResult Journalctl(std::vector<std::string> args) const;
  RunResult Inside(std::vector<std::string> argv, const std::string& input = "") const;
  // Puts a unit into /run/systemd/system and reloads.
  Status InstallUnit(const std::string& name, const std::string& text) const;
  int pid() const { return systemd_pid_; }

 private:
  SystemdNamespace() = default;
  int unshare_pid_ = -1;  // our child: unshare, parent of the namespace's PID 1
  int systemd_pid_ = -1;  // PID 1 inside, as the host sees it
};

// A directory for test data that the namespace sees too: under the build
// tree, not /tmp. Removed at the end.
class SharedDir {
 public:
  SharedDir();
  ~SharedDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

}  // namespace bucketd::testing

#endif  // BUCKETD_TESTS_SYSTEMD_SYSTEMD_NS_H_
