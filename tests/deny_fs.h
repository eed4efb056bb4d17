// An Fs that refuses what the kernel refuses a process for another user's
// chmod 000 entries (tests run as root, which no mode stops): opening a
// denied entry for reading, and reaching anything beneath a denied
// directory. A stat through O_PATH of a denied file still works, as it does
// for a real unprivileged reader.
#ifndef BUCKETD_TESTS_DENY_FS_H_
#define BUCKETD_TESTS_DENY_FS_H_

#include <fcntl.h>

#include <mutex>
#include <set>
#include <string>

#include "common/env.h"

namespace bucketd::testing {

class DenyFs final : public FsWrapper {
 public:
  using FsWrapper::FsWrapper;
  // Entries are matched by name (the last component of a path).
  void Deny(const std::string& name) {
    std::lock_guard<std::mutex> l(mu_);
    denied_.insert(name);
  }
  void Allow(const std::string& name) {
    std::lock_guard<std::mutex> l(mu_);
    denied_.erase(name);
  }
  Result<UniqueFd> OpenAt(int d, const std::string& p, int f, mode_t m) override {
    if (Denied(p, f)) return Status::PermissionDenied(p + ": Permission denied");
    return FsWrapper::OpenAt(d, p, f, m);
  }
  Result<UniqueFd> OpenBeneath(int d, const std::string& p, int f, mode_t m) override {
    if (Denied(p, f)) return Status::PermissionDenied(p + ": Permission denied");
    return FsWrapper::OpenBeneath(d, p, f, m);
  }

 private:
  bool Denied(const std::string& path, int flags) {
    std::lock_guard<std::mutex> l(mu_);
    size_t start = 0;
    for (;;) {
      size_t slash = path.find('/', start);
      std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      bool last = slash == std::string::npos || slash + 1 == path.size();
      if (denied_.count(part) && (!last || !(flags & O_PATH))) return true;
      if (last) return false;
      start = slash + 1;
    }
  }
  std::mutex mu_;
  std::set<std::string> denied_;
};

}  // namespace bucketd::testing

#endif  // BUCKETD_TESTS_DENY_FS_H_
