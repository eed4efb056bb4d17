#include "runner/process_memory.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace bucketd::runner {
namespace {

// A /proc file's start into `buf` (NUL-terminated); its length, 0 when gone.
// Plain reads: this runs on the loop's thread at every answer.
size_t ReadProc(const std::string& path, char* buf, size_t size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return 0;
  ssize_t n = ::read(fd.get(), buf, size - 1);
  buf[n > 0 ? n : 0] = '\0';
  return n > 0 ? static_cast<size_t>(n) : 0;
}

// Resident pages (statm's second field), KiB.
int64_t RssKb(pid_t pid) {
  char buf[256];
  if (ReadProc("/proc/" + std::to_string(pid) + "/statm", buf, sizeof buf) == 0) return 0;
  char* end = nullptr;
  (void)std::strtoll(buf, &end, 10);
  static const int64_t kPageKb = ::sysconf(_SC_PAGESIZE) / 1024;
  return std::strtoll(end, nullptr, 10) * kPageKb;
}

void AddChildren(pid_t pid, std::vector<pid_t>* out) {
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(tasks.c_str());
  if (d == nullptr) return;
  char buf[4096];
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (ReadProc(tasks + "/" + e->d_name + "/children", buf, sizeof buf) == 0) continue;
    for (char* p = buf; *p != '\0';) {
      char* end = nullptr;
      long child = std::strtol(p, &end, 10);
      if (end == p) break;
      out->push_back(static_cast<pid_t>(child));
      p = end;
    }
  }
  ::closedir(d);
}

}  // namespace

int64_t PeakRssKb(pid_t pid) {
  if (pid <= 0) return 0;
  char buf[4096];
  if (ReadProc("/proc/" + std::to_string(pid) + "/status", buf, sizeof buf) == 0) return 0;
  const char* hwm = std::strstr(buf, "\nVmHWM:");
  return hwm == nullptr ? 0 : std::strtoll(hwm + 7, nullptr, 10);
}

int64_t TreeRssKb(pid_t pid) {
  if (pid <= 0) return 0;
  int64_t total = 0;
  std::vector<pid_t> todo = {pid};
  // Bounded: a fork bomb must not keep bucketd's loop here.
  for (size_t seen = 0; !todo.empty() && seen < 4096; ++seen) {
    pid_t p = todo.back();
    todo.pop_back();
    total += RssKb(p);
    AddChildren(p, &todo);
  }
  return total;
}

}  // namespace bucketd::runner
