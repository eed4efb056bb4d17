// A clock for tests: starts at a given time (default: now) and moves only
// when the test says so.
#ifndef BUCKETD_TESTS_FAKE_CLOCK_H_
#define BUCKETD_TESTS_FAKE_CLOCK_H_

#include <atomic>

#include "common/env.h"

namespace bucketd::testing {

class FakeClock final : public Clock {
 public:
  FakeClock() : now_(Env::Default().clock().NowNanos()) {}
  explicit FakeClock(int64_t start_ns) : now_(start_ns) {}
  int64_t NowNanos() override { return now_; }
  void Advance(int64_t ns) { now_ += ns; }
  void Set(int64_t ns) { now_ = ns; }

 private:
  std::atomic<int64_t> now_;  // read by worker threads (built-in stages)
};

}  // namespace bucketd::testing

#endif  // BUCKETD_TESTS_FAKE_CLOCK_H_
