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

}  // namespace bucketd
