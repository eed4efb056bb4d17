#include "common/file_util.h"

#include <cstdlib>

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

}  // namespace bucketd
