// A watcher driven by the test: Push() hands hints to the event plane, as
// inotify would, without a kernel.
#ifndef BUCKETD_TESTS_EVENTS_FAKE_WATCHER_H_
#define BUCKETD_TESTS_EVENTS_FAKE_WATCHER_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "events/watcher.h"

namespace bucketd::events {

class FakeWatcher : public Watcher {
 public:
  FakeWatcher() : efd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  Status Start(const std::string&, const std::vector<std::string>&) override { return Status::OK(); }
  int wake_fd() const override { return efd_.get(); }
  std::vector<WatchHint> Drain() override {
    uint64_t v;
    (void)!::read(efd_.get(), &v, sizeof(v));
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(hints_, {});
  }
  void Stop() override {}
  int watch_count() const override { return 0; }
  void Push(WatchHint hint) {
    {
      std::lock_guard<std::mutex> l(mu_);
      hints_.push_back(std::move(hint));
    }
    uint64_t one = 1;
    (void)!::write(efd_.get(), &one, sizeof(one));
  }

 private:
  UniqueFd efd_;
  std::mutex mu_;
  std::vector<WatchHint> hints_;  // guarded by mu_
};

}  // namespace bucketd::events

#endif  // BUCKETD_TESTS_EVENTS_FAKE_WATCHER_H_
