#include "runner/reaped.h"

#include <map>
#include <mutex>

namespace bucketd::runner {
namespace {

std::mutex mu;
std::map<pid_t, int>& Statuses() {
  static std::map<pid_t, int> statuses;
  return statuses;
}

}  // namespace

void NoteReaped(pid_t pid, int wait_status) {
  std::lock_guard<std::mutex> lock(mu);
  auto& s = Statuses();
  if (s.size() >= 4096) s.clear();  // statuses nobody asked for (supervisor pool children)
  s[pid] = wait_status;
}

std::optional<int> TakeReaped(pid_t pid) {
  std::lock_guard<std::mutex> lock(mu);
  auto& s = Statuses();
  auto it = s.find(pid);
  if (it == s.end()) return std::nullopt;
  int status = it->second;
  s.erase(it);
  return status;
}

}  // namespace bucketd::runner
