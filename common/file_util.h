// Small whole-file helpers over Fs, for configuration-sized files.
#ifndef BUCKETD_COMMON_FILE_UTIL_H_
#define BUCKETD_COMMON_FILE_UTIL_H_

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/env.h"

namespace bucketd {

// The whole file at `path` (relative to `dir`, which may be AT_FDCWD).
// NotFound when it does not exist.
Result<std::string> ReadFileToString(Fs& fs, int dir, const std::string& path);

// Whether the file at `path` is another than `*seen` says (its inode, size
// or mtime changed, it appeared or went away), updating `*seen`: how a
// reader of a small configuration file picks up edits without a restart.
// `*seen` is empty while the file does not exist.
Result<bool> FileChanged(Fs& fs, const std::string& path, std::optional<FileStat>* seen);

// FileChanged for a file consulted on every request: the file is looked at
// when `force` is set or kRecheckNanos have passed since the last look
// (false in between), so a burst of requests costs one stat a tenth of a
// second instead of one each. Not thread-safe: its owner locks.
class FileWatch {
 public:
  static constexpr int64_t kRecheckNanos = 100'000'000;
  explicit FileWatch(std::string path) : path_(std::move(path)) {}
  Result<bool> Changed(Fs& fs, int64_t now_ns, bool force = false);
  // Whether the file existed at the last look.
  bool exists() const { return seen_.has_value(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::optional<FileStat> seen_;
  std::optional<int64_t> looked_at_ns_;
};

// Replaces `dir`/`name` with `data` so that a reader sees the old file or the
// new one, never a part (a temp file, fsync, rename, fsync of the
// directory). `prepare` may set the temp file's owner before the rename.
Status WriteFileAtomically(Fs& fs, const std::string& dir, const std::string& name, std::string_view data,
                           mode_t mode, const std::function<Status(int fd)>& prepare = {});

// mkdir -p: every missing directory of `path` (absolute or relative to
// the working directory) with `mode`; OK when it exists.
Status MakeDirs(Fs& fs, const std::string& path, mode_t mode = 0755);

// The first directory systemd names in `variable` (STATE_DIRECTORY,
// RUNTIME_DIRECTORY, CONFIGURATION_DIRECTORY are ':'-separated lists), or ""
// when it is unset.
std::string SystemdDirectory(const char* variable);

// A stdio stream closed when it goes out of scope.
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using UniqueFile = std::unique_ptr<FILE, FileCloser>;

}  // namespace bucketd

#endif  // BUCKETD_COMMON_FILE_UTIL_H_
