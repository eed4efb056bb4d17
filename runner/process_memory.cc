#include "runner/process_memory.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace bucketd::runner {
namespace {

int64_t StatusFieldKb(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtoll(line.c_str() + prefix.size(), nullptr, 10);
  }
  return 0;
}

std::vector<pid_t> Children(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    for (long child; in >> child;) out.push_back(static_cast<pid_t>(child));
  }
  return out;
}

}  // namespace

int64_t PeakRssKb(pid_t pid) { return pid > 0 ? StatusFieldKb(pid, "VmHWM") : 0; }

int64_t TreeRssKb(pid_t pid) {
  if (pid <= 0) return 0;
  int64_t total = 0;
  std::vector<pid_t> todo = {pid};
  // Bounded: a fork bomb must not keep bucketd's loop here.
  for (size_t seen = 0; !todo.empty() && seen < 4096; ++seen) {
    pid_t p = todo.back();
    todo.pop_back();
    total += StatusFieldKb(p, "VmRSS");
    for (pid_t c : Children(p)) todo.push_back(c);
  }
  return total;
}

}  // namespace bucketd::runner
