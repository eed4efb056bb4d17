#include "events/api_deletes.h"

namespace bucketd::events {

void ApiDeletes::Note(const std::string& bucket, const std::string& key, std::string caller, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  // Stale notes go here, so the map never grows past the deletes of a minute.
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = now_ns - it->second.second > kLifetimeNs ? pending_.erase(it) : std::next(it);
  }
  pending_[{bucket, key}] = {std::move(caller), now_ns};
}

void ApiDeletes::Forget(const std::string& bucket, const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.erase({bucket, key});
}

std::string ApiDeletes::Take(const std::string& bucket, const std::string& key, int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find({bucket, key});
  if (it == pending_.end()) return "";
  std::string caller = now_ns - it->second.second > kLifetimeNs ? "" : std::move(it->second.first);
  pending_.erase(it);
  return caller;
}

}  // namespace bucketd::events
