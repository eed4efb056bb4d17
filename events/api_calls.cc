#include "events/api_calls.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <iterator>

namespace bucketd::events {

ApiCalls::ApiCalls() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

void ApiCalls::Add(ObjectChange call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.size() >= kMaxPending) {
      ++dropped_;
      return;
    }
    pending_.push_back(std::move(call));
  }
  uint64_t one = 1;
  (void)::write(wake_.get(), &one, sizeof(one));
}

std::vector<ObjectChange> ApiCalls::Take(uint64_t* dropped) {
  uint64_t count;
  (void)::read(wake_.get(), &count, sizeof(count));
  std::lock_guard<std::mutex> lock(mu_);
  *dropped = dropped_;
  dropped_ = 0;
  std::vector<ObjectChange> out;
  out.swap(pending_);
  return out;
}

void ApiCalls::Requeue(std::vector<ObjectChange> calls) {
  if (calls.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls.insert(calls.end(), std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
    pending_ = std::move(calls);
  }
  uint64_t one = 1;
  (void)::write(wake_.get(), &one, sizeof(one));
}

}  // namespace bucketd::events
