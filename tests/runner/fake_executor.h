// An executor for the runner's unit tests: an attempt ends when its
// function's behaviour says so at its start, or when the test calls End.
// No threads, no processes, no sleeps; what the runner asked for is kept in
// `started`, `releases` and `dropped`.
#ifndef BUCKETD_TESTS_RUNNER_FAKE_EXECUTOR_H_
#define BUCKETD_TESTS_RUNNER_FAKE_EXECUTOR_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runner/executor.h"

namespace bucketd::runner {

// What a FakeExecutor was asked to start.
struct FakeStarted {
  int64_t n = 0;
  std::string id, function, chain;
  int attempt = 0;
  bool held = false;
  int64_t started_ns = 0, deadline_ns = 0;
};
// How a fake attempt ends.
struct FakeEnd {
  bool ok = true;
  std::string error;
  bool not_started = false;
  bool permanent = false;
};
class FakeExecutor final : public Executor {
 public:
  using Started = FakeStarted;
  using End = FakeEnd;
  // What an attempt of a function does once it runs: end at once, or (no
  // value) run until the test ends it.
  using Behaviour = std::function<std::optional<End>(const Started&)>;

  void On(const std::string& function, Behaviour b) { behaviours_[function] = std::move(b); }

  // Ends the running attempt of invocation `id`. False when none runs.
  bool Finish(const std::string& id, End end = {}) {
    for (auto it = running_.begin(); it != running_.end(); ++it) {
      if (it->second.id != id) continue;
      Ended(it->second, end);
      running_.erase(it);
      return true;
    }
    return false;
  }
  // Ids of the attempts running now.
  std::set<std::string> running() const {
    std::set<std::string> out;
    for (const auto& [n, s] : running_) out.insert(s.id);
    return out;
  }
  // Start's output lines for the next Collect.
  void Print(const std::string& id, int stream, const std::string& text) {
    for (const auto& [n, s] : running_) {
      if (s.id == id) pending_.output.push_back({n, s.attempt, OutputLine{0, stream, text}});
    }
  }

  bool can_hold = false;
  Status start_error = Status::OK();  // what Start answers (OK: it starts)
  std::map<std::string, int> traces;  // Traces()
  std::set<std::string> still_running;  // ids Reattach finds running
  std::vector<int64_t> drain;         // what Drain gives back
  std::vector<Started> started;
  std::vector<bool> releases;
  std::vector<int64_t> dropped;

  Status Start(const Attempt& a, bool held) override {
    if (!start_error.ok()) return start_error;
    Started s{a.n, a.invocation.id, a.function.name, a.chain, a.number(), held, a.started_ns, a.deadline_ns};
    started.push_back(s);
    if (held) {
      held_.push_back(s);
    } else {
      Run(s);
    }
    return Status::OK();
  }
  bool CanHold() const override { return can_hold; }
  void Release(bool go) override {
    releases.push_back(go);
    std::vector<Started> held = std::exchange(held_, {});
    if (go) {
      for (const auto& s : held) Run(s);
    }
  }
  void Drop(int64_t n) override {
    dropped.push_back(n);
    running_.erase(n);
  }
  std::map<std::string, int> Traces() override { return traces; }
  bool Reattach(int64_t n, const std::string& id, int attempt, int64_t started_ns) override {
    Started s{n, id, "", "", attempt, false, started_ns, 0};
    if (still_running.count(id)) {
      running_[n] = s;
      return true;
    }
    Ended(s, End{});
    return false;
  }
  ExecutorReport Collect(int64_t now) override {
    for (auto& r : pending_.ended) r.finished_ns = now;
    return std::exchange(pending_, {});
  }
  std::vector<int64_t> Drain() override {
    for (int64_t n : drain) running_.erase(n);
    return drain;
  }

 private:
  void Run(const Started& s) {
    auto b = behaviours_.find(s.function);
    std::optional<End> end = b == behaviours_.end() ? std::optional<End>(End{}) : b->second(s);
    if (end) {
      Ended(s, *end);
    } else {
      running_[s.n] = s;
    }
  }
  void Ended(const Started& s, const End& end) {
    AttemptResult r;
    r.n = s.n;
    r.ok = end.ok && !end.not_started;
    r.not_started = end.not_started;
    r.outcome = r.ok ? "succeeded" : end.not_started ? "not started" : "failed";
    r.error = end.error;
    r.permanent = end.permanent;
    r.started_ns = s.started_ns;
    pending_.ended.push_back(std::move(r));
  }

  std::map<std::string, Behaviour> behaviours_;
  std::map<int64_t, Started> running_;
  std::vector<Started> held_;
  ExecutorReport pending_;
};

}  // namespace bucketd::runner

#endif  // BUCKETD_TESTS_RUNNER_FAKE_EXECUTOR_H_
