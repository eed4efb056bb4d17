#include "common/file_util.h"

#include <cstdlib>
#include <utility>

#include <fcntl.h>

namespace bucketd {

Result<std::string> ReadFileToString(Fs& fs, int dir, const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, fs.OpenAt(dir, path, O_RDONLY));
  std::string out;
  char buf[65536];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, fs.Read(fd.get(), buf, sizeof(buf)));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

std::string SystemdDirectory(const char* variable) {
  const char* v = std::getenv(variable);
  if (v == nullptr) return "";
  std::string all(v);
  return all.substr(0, all.find(':'));
}

Status MakeDirs(Fs& fs, const std::string& path, mode_t mode) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (!dir.empty()) {
      Status made = fs.MkdirAt(AT_FDCWD, dir, mode);
      if (!made.ok() && !made.IsAlreadyExists()) return made;
    }
    if (slash == std::string::npos) return Status::OK();
  }
}

Result<bool> FileChanged(Fs& fs, const std::string& path, std::optional<FileStat>* seen) {
  auto st = fs.StatAt(AT_FDCWD, path, false);
  if (!st.ok() && !st.status().IsNotFound()) return st.status();
  if (!st.ok()) return std::exchange(*seen, std::nullopt).has_value();
  bool same = seen->has_value() && (*seen)->ino == st->ino && (*seen)->size == st->size &&
              (*seen)->mtime_ns == st->mtime_ns;
  *seen = *st;
  return !same;
}

Result<bool> FileWatch::Changed(Fs& fs, int64_t now_ns, bool force) {
  // A clock set back counts as due.
  bool due = force || !looked_at_ns_ || now_ns < *looked_at_ns_ || now_ns - *looked_at_ns_ >= kRecheckNanos;
  if (!due) return false;
  looked_at_ns_ = now_ns;
  return FileChanged(fs, path_, &seen_);
}

Status WriteFileAtomically(Fs& fs, const std::string& dir, const std::string& name, std::string_view data,
                           mode_t mode, const std::function<Status(int fd)>& prepare) {
  std::string file = dir + "/" + name;
  std::string tmp = file + ".tmp";
  (void)fs.UnlinkAt(AT_FDCWD, tmp, false);
  auto fd = fs.OpenAt(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (!fd.ok()) return Status(fd.status().code(), file + ": " + fd.status().message());
  Status s = fs.WriteAll(fd->get(), data);
  if (s.ok() && prepare) s = prepare(fd->get());
  if (s.ok()) s = fs.Fsync(fd->get());
  if (s.ok()) s = fs.RenameAt(AT_FDCWD, tmp, AT_FDCWD, file, false);
  if (!s.ok()) {
    (void)fs.UnlinkAt(AT_FDCWD, tmp, false);
    return Status(s.code(), file + ": " + s.message());
  }
  ASSIGN_OR_RETURN(UniqueFd d, fs.OpenAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY));
  return fs.Fsync(d.get());
}

}  // namespace bucketd
