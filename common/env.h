// Env: every access to the outside world (files, time, randomness) goes
// through this interface (STYLE.md §3), so tests can inject faults (FaultFs
// wrapping the real one) or a fake clock.
//
// The file-system interface is descriptor-relative on purpose: the store
// resolves every object path beneath an open bucket directory, so a symlink
// planted inside a bucket can never lead a read or a write outside it.
//
// Thread-safety: PosixFs, SystemClock and Env::Default() are safe to use from
// any thread. Fakes document their own rules.
#ifndef BUCKETD_COMMON_ENV_H_
#define BUCKETD_COMMON_ENV_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace bucketd {

struct FileStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // nanoseconds since the Unix epoch
  mode_t mode = 0;
  uint64_t ino = 0;
  uint64_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t btime_ns = 0;  // birth time, when the file system keeps one; else 0
  uint64_t nlink = 1;    // names the file has (hard links)
  bool IsDir() const;
  bool IsRegular() const;
  bool IsSymlink() const;
};

struct DirEntry {
  enum class Type { kFile, kDir, kSymlink, kOther };
  std::string name;
  Type type = Type::kOther;
};

// Codes returned by every Fs method: NotFound (ENOENT, ENOTDIR),
// AlreadyExists (EEXIST, ENOTEMPTY), PermissionDenied (EACCES, EPERM, and a
// path that would resolve outside its base), IOError (anything else, with
// strerror). Messages name the path given.
class Fs {
 public:
  virtual ~Fs() = default;

  // openat(2) with O_CLOEXEC added. `dir` may be AT_FDCWD.
  virtual Result<UniqueFd> OpenAt(int dir, const std::string& path, int flags,
                                  mode_t mode = 0644) = 0;
  // Like OpenAt, but resolution may not leave `dir`: "..", absolute paths and
  // symlinks leading outside give PermissionDenied; magic links are refused.
  virtual Result<UniqueFd> OpenBeneath(int dir, const std::string& path, int flags,
                                       mode_t mode = 0644) = 0;
  virtual Status MkdirAt(int dir, const std::string& name, mode_t mode) = 0;
  // Reads up to n bytes; 0 at end of file.
  virtual Result<size_t> Read(int fd, char* buf, size_t n) = 0;
  virtual Result<size_t> PRead(int fd, char* buf, size_t n, uint64_t offset) = 0;
  virtual Status WriteAll(int fd, std::string_view data) = 0;
  virtual Status Fsync(int fd) = 0;
  // Starts writing a range's dirty pages to disk without waiting
  // (sync_file_range(2) WRITE): a later fsync has less left to wait for. A
  // hint only; what fails to be written is fsync's to report.
  virtual void StartWriteback(int fd, uint64_t offset, uint64_t len) = 0;
  // renameat2(2); with no_replace an existing target gives AlreadyExists.
  virtual Status RenameAt(int from_dir, const std::string& from, int to_dir,
                          const std::string& to, bool no_replace) = 0;
  virtual Status UnlinkAt(int dir, const std::string& name, bool is_dir) = 0;
  virtual Result<FileStat> Stat(int fd) = 0;
  virtual Result<FileStat> StatAt(int dir, const std::string& path, bool follow) = 0;
  // Entries of an open directory, without "." and "..", in no order.
  virtual Result<std::vector<DirEntry>> ReadDir(int dir_fd) = 0;
  // NotFound when the attribute is absent.
  virtual Result<std::string> GetXattr(int fd, const std::string& name) = 0;
  virtual Status SetXattr(int fd, const std::string& name, std::string_view value) = 0;
  // NotFound when the attribute is absent.
  virtual Status RemoveXattr(int fd, const std::string& name) = 0;
  // flock(2). With wait=false returns false when another holder has it.
  virtual Result<bool> Lock(int fd, bool exclusive, bool wait) = 0;
  // Gives a name to an open file (linkat(2)): one opened with O_TMPFILE, or
  // a further name to one that has names. An existing name gives
  // AlreadyExists; a directory on another file system, PermissionDenied.
  virtual Status LinkTmpFile(int fd, int dir, const std::string& name) = 0;
  virtual Status Fchown(int fd, uid_t uid, gid_t gid) = 0;
};

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

// Wall-clock time, injectable.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowNanos() = 0;  // since the Unix epoch
};

// Randomness, injectable (ids, retry jitter).
class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t Next() = 0;
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};
// The production source: a per-thread engine seeded from the kernel.
// Thread-safe.
Random& SystemRandom();

class Env {
 public:
  Env(Fs& fs, Clock& clock, Random& random = SystemRandom()) : fs_(fs), clock_(clock), random_(random) {}
  Fs& fs() { return fs_; }
  Clock& clock() { return clock_; }
  Random& random() { return random_; }
  // The production environment: PosixFs and the system clock. Never null.
  static Env& Default();

 private:
  Fs& fs_;
  Clock& clock_;
  Random& random_;
};

// Forwards every call; tests derive from it and override what they break.
class FsWrapper : public Fs {
 public:
  explicit FsWrapper(Fs& base) : base_(base) {}
  Result<UniqueFd> OpenAt(int d, const std::string& p, int f, mode_t m) override { return base_.OpenAt(d, p, f, m); }
  Result<UniqueFd> OpenBeneath(int d, const std::string& p, int f, mode_t m) override { return base_.OpenBeneath(d, p, f, m); }
  Status MkdirAt(int d, const std::string& n, mode_t m) override { return base_.MkdirAt(d, n, m); }
  Result<size_t> Read(int fd, char* b, size_t n) override { return base_.Read(fd, b, n); }
  Result<size_t> PRead(int fd, char* b, size_t n, uint64_t o) override { return base_.PRead(fd, b, n, o); }
  Status WriteAll(int fd, std::string_view d) override { return base_.WriteAll(fd, d); }
  Status Fsync(int fd) override { return base_.Fsync(fd); }
  void StartWriteback(int fd, uint64_t o, uint64_t n) override { base_.StartWriteback(fd, o, n); }
  Status RenameAt(int fd1, const std::string& a, int fd2, const std::string& b, bool nr) override {
    return base_.RenameAt(fd1, a, fd2, b, nr);
  }
  Status UnlinkAt(int d, const std::string& n, bool is_dir) override { return base_.UnlinkAt(d, n, is_dir); }
  Result<FileStat> Stat(int fd) override { return base_.Stat(fd); }
  Result<FileStat> StatAt(int d, const std::string& p, bool f) override { return base_.StatAt(d, p, f); }
  Result<std::vector<DirEntry>> ReadDir(int d) override { return base_.ReadDir(d); }
  Result<std::string> GetXattr(int fd, const std::string& n) override { return base_.GetXattr(fd, n); }
  Status SetXattr(int fd, const std::string& n, std::string_view v) override { return base_.SetXattr(fd, n, v); }
  Status RemoveXattr(int fd, const std::string& n) override { return base_.RemoveXattr(fd, n); }
  Result<bool> Lock(int fd, bool e, bool w) override { return base_.Lock(fd, e, w); }
  Status LinkTmpFile(int fd, int d, const std::string& n) override { return base_.LinkTmpFile(fd, d, n); }
  Status Fchown(int fd, uid_t uid, gid_t gid) override { return base_.Fchown(fd, uid, gid); }

 private:
  Fs& base_;
};

}  // namespace bucketd

#endif  // BUCKETD_COMMON_ENV_H_
