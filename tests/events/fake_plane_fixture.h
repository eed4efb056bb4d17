// PlaneTest with a FakeWatcher: the test pushes the hints inotify would
// give, so hint handling is deterministic.
#ifndef BUCKETD_TESTS_EVENTS_FAKE_PLANE_FIXTURE_H_
#define BUCKETD_TESTS_EVENTS_FAKE_PLANE_FIXTURE_H_

#include <memory>
#include <string>

#include "tests/events/fake_watcher.h"
#include "tests/events/plane_fixture.h"

namespace bucketd::events {

class FakeWatcherPlaneTest : public PlaneTest {
 protected:
  // Starts the plane (with options_ as the test left them).
  void StartWithFakeWatcher() {
    auto w = std::make_unique<FakeWatcher>();
    fake_ = w.get();
    StartPlane(std::move(w));
  }
  // A hint about `rel` under the bucket ("" for the bucket itself).
  void Hint(const std::string& rel, uint32_t mask, WatchHint::Kind kind = WatchHint::Kind::kFile,
            int64_t read_ns = 0) {
    fake_->Push({kind, Bucket() + (rel.empty() ? "" : "/" + rel), mask, read_ns});
  }
  // Handles the hints and commits what they found.
  void Process() {
    ASSERT_TRUE(plane_->ProcessHints().ok()) << LogText();
    Record();
  }
  std::string LogText() const {
    std::string all;
    for (const auto& l : log_) all += l + "\n";
    return all;
  }
  FakeWatcher* fake_ = nullptr;
};

}  // namespace bucketd::events

#endif  // BUCKETD_TESTS_EVENTS_FAKE_PLANE_FIXTURE_H_
