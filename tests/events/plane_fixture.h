// An event plane over a real store and trail in a temp directory, with a
// watcher chosen by the test, a clock the test can move, and a sink that
// keeps every record.
#ifndef BUCKETD_TESTS_EVENTS_PLANE_FIXTURE_H_
#define BUCKETD_TESTS_EVENTS_PLANE_FIXTURE_H_

#include <poll.h>

#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

#include "events/event_plane.h"
#include "tests/deny_fs.h"
#include "tests/fake_clock.h"
#include "tests/test_util.h"

namespace bucketd::events {

using testing::FakeClock;

// Every record the fixture's commits made, in order.
class RecordingSink {
 public:
  void Add(const std::vector<TrailRecord>& records) {
    for (const auto& r : records) this->records.push_back(r);
  }
  // "PutObject b/k" lines, in order.
  std::vector<std::string> Lines() const {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.EventName() + " " + r.change.bucket + "/" + r.change.key);
    return out;
  }
  std::vector<TrailRecord> records;
};

class PlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "root";
    state_ = tmp_ / "state";
    ::mkdir(state_.c_str(), 0700);
    auto s = store::Store::Open(store_env_, root_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    ASSERT_TRUE(store_->CreateBucket("data").ok());
  }
  void TearDown() override { StopPlane(); }

  // Opens the trail and starts a plane with `watcher` (owned by the fixture).
  void StartPlane(std::unique_ptr<Watcher> watcher) {
    auto t = Trail::Open(env_, state_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    trail_ = std::move(t).value();
    watcher_ = std::move(watcher);
    EventPlaneOptions o = options_;
    o.log = [this](LogLevel level, const std::string& m) {
      log_.push_back((level >= LogLevel::kWarning ? "W " : "I ") + m);
    };
    plane_ = std::make_unique<EventPlane>(env_, *store_, *trail_, *watcher_, o);
    Status s = plane_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    Record();
  }
  // Commits what the plane found, as the daemon's unit of work would (with
  // nothing else to commit beside the records).
  void Record() {
    auto records = RecordPending(*plane_, *trail_);
    if (records.ok()) sink_.Add(*records);
  }
  void Tick() {
    (void)plane_->OnTick();
    Record();
  }
  void StopPlane() {
    if (watcher_) watcher_->Stop();
    plane_.reset();
    watcher_.reset();
    trail_.reset();
  }
  // Runs the plane's loop until `done` holds or 20 s pass. The fake clock
  // moves with real time here, as the daemon's loop would see it.
  bool PumpUntil(const std::function<bool()>& done, int timeout_ms = 20000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      struct pollfd p = {plane_->wake_fd(), POLLIN, 0};
      auto before = std::chrono::steady_clock::now();
      ::poll(&p, 1, 20);
      clock_.Advance(std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - before).count());
      if (p.revents & POLLIN) (void)plane_->ProcessHints();
      Tick();
      if (done()) return true;
    }
    return done();
  }
  // Keeps pumping for `ms` so late or duplicate records would show up.
  void PumpFor(int ms) { PumpUntil([] { return false; }, ms); }
  std::string Bucket() const { return root_ + "/buckets/data"; }

  testing::TempDir tmp_;
  std::string root_, state_;
  FakeClock clock_;
  Env env_{Env::Default().fs(), clock_};
  // The store reads through it: a test can make entries unreadable.
  testing::DenyFs deny_fs_{Env::Default().fs()};
  Env store_env_{deny_fs_, Env::Default().clock()};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Trail> trail_;
  std::unique_ptr<Watcher> watcher_;
  std::unique_ptr<EventPlane> plane_;
  RecordingSink sink_;
  std::vector<std::string> log_;
  EventPlaneOptions options_;  // what StartPlane uses (log is set by it)
};

}  // namespace bucketd::events

#endif  // BUCKETD_TESTS_EVENTS_PLANE_FIXTURE_H_
