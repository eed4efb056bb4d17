#include "runner/plan.h"

#include <algorithm>

#include "common/env.h"

namespace bucketd::runner {


Plan::Plan(Clock& clock, PlanOptions options, Random& random)
    : clock_(clock), options_(std::move(options)), random_(random), functions_(std::make_shared<FunctionSet>()) {}

void Plan::Admit(Invocation v) {
  if (active_.count(v.n)) return;
  auto& lane = lanes_[v.Lane()];
  lane.push_back(v.n);
  if (v.state == State::kRunning) {
    MarkRunning(v);
  } else {
    ++queued_;
    if (lane.size() == 1) Ready(v);
  }
  int64_t n = v.n;
  active_.emplace(n, std::move(v));
}

void Plan::AdoptRunning(Invocation v) {
  v.state = State::kRunning;
  Admit(std::move(v));
}

bool Plan::AtWorkerLimit() const { return running_.size() >= static_cast<size_t>(std::max(1, options_.workers)); }

int Plan::RunningOf(const std::string& function) const {
  auto it = running_by_function_.find(function);
  return it == running_by_function_.end() ? 0 : it->second;
}

bool Plan::AtConcurrencyLimit(const Function& fn) const {
  return fn.reserved_concurrency && RunningOf(fn.name) >= *fn.reserved_concurrency;
}

void Plan::MarkRunning(const Invocation& v) {
  running_.insert(v.n);
  ++running_by_function_[v.function];
}

bool Plan::UnmarkRunning(const Invocation& v) {
  if (running_.erase(v.n) == 0) return false;
  RunEnded(v.function);
  return true;
}

void Plan::RunEnded(const std::string& function) {
  auto it = running_by_function_.find(function);
  if (it != running_by_function_.end() && --it->second <= 0) running_by_function_.erase(it);
  Release(function);
}

void Plan::Release(const std::string& function) {
  auto held = held_.find(function);
  if (held == held_.end()) return;
  auto fn = functions_->find(function);
  size_t room = fn == functions_->end() || !fn->second.reserved_concurrency
                    ? held->second.size()
                    : static_cast<size_t>(std::max(0, *fn->second.reserved_concurrency - RunningOf(function)));
  for (; room > 0 && !held->second.empty(); --room) {
    ready_.insert(*held->second.begin());
    held->second.erase(held->second.begin());
  }
  if (held->second.empty()) held_.erase(held);
}

void Plan::Unready(const Invocation& v) {
  if (ready_.erase({v.next_ns, v.n}) != 0) return;
  auto held = held_.find(v.function);
  if (held == held_.end()) return;
  held->second.erase({v.next_ns, v.n});
  if (held->second.empty()) held_.erase(held);
}

void Plan::SetFunctions(std::shared_ptr<const FunctionSet> functions) {
  functions_ = std::move(functions);
  // Limits may have changed: every held lane head is looked at again.
  for (auto& [name, entries] : held_) ready_.insert(entries.begin(), entries.end());
  held_.clear();
}

std::string Plan::PermanentError(const Invocation& v, const Function** fn) const {
  if (!v.input_error.empty()) return "the target's input could not be built: " + v.input_error;
  if (v.function.empty()) {
    return "target '" + v.target + "' has Arn '" + v.arn +
           "', which names no local function (expected arn:aws:lambda:<region>:<account>:function:<Name>)";
  }
  auto it = functions_->find(v.function);
  if (it == functions_->end()) {
    return "no function named '" + v.function + "' (Arn '" + v.arn +
           "'); define it in <config-dir>/functions.d/ and redrive";
  }
  *fn = &it->second;
  if (v.hop > options_.max_hops) {
    return "recursive loop stopped: this would be invocation " + std::to_string(v.hop) + " of chain " + v.chain +
           " (limit " + std::to_string(options_.max_hops) + "); rule '" + v.rule +
           "' keeps firing on objects its own chain writes";
  }
  int64_t age = clock_.NowNanos() - v.age_base_ns;
  if (age > static_cast<int64_t>(v.max_age_seconds) * kNanosPerSecond) {
    return "the event is older than its MaximumEventAgeInSeconds (" + std::to_string(v.max_age_seconds) +
           " s)" + (v.error.empty() ? "" : "; last error: " + v.error);
  }
  return "";
}

std::vector<Decision> Plan::TakeReady(bool errors_wait,
                                      const std::function<bool(const Invocation&, const Function&)>& also) {
  std::vector<Decision> out;
  int64_t now = clock_.NowNanos();
  for (auto it = ready_.begin(); it != ready_.end();) {
    if (it->first > now || AtWorkerLimit()) break;
    int64_t it_n = it->second;
    Invocation& v = active_.at(it_n);
    const Function* fn = nullptr;
    std::string error = PermanentError(v, &fn);
    if (!error.empty()) {
      if (errors_wait) {
        ++it;
        continue;
      }
      ready_.erase(it);
      Kill(v, error);  // v is gone after this
      out.push_back({it_n, nullptr, last_dead_});
      it = ready_.begin();  // the lane's next one may be ready now
      continue;
    }
    if (AtConcurrencyLimit(*fn)) {
      // Held until one of its function's runs ends, out of the scan.
      held_[fn->name].insert(*it);
      it = ready_.erase(it);
      continue;
    }
    if (also && !also(v, *fn)) {
      ++it;  // held back; others may start
      continue;
    }
    it = ready_.erase(it);
    --queued_;
    v.attempts += 1;
    v.state = State::kRunning;
    v.started_ns = now;
    MarkRunning(v);
    MarkDirty(v);
    out.push_back({v.n, fn, {}});
  }
  return out;
}

void Plan::Unstart(int64_t n, bool requeue) {
  auto it = active_.find(n);
  if (it == active_.end()) return;
  Invocation& v = it->second;
  UnmarkRunning(v);
  v.attempts -= 1;
  v.state = State::kPending;
  ++queued_;
  MarkDirty(v);
  if (requeue) Ready(v);
}

Verdict Plan::Finish(int64_t n, const AttemptEnd& end) {
  Verdict verdict;
  auto it = active_.find(n);
  if (it == active_.end()) return verdict;
  Invocation& v = it->second;
  UnmarkRunning(v);
  if (end.not_started) {
    // It never reached its target: not a try, so it costs no retry.
    v.retry_base += 1;
    v.state = State::kPending;
    v.next_ns = 0;
    ++queued_;
    Ready(v);
    MarkDirty(v);
    verdict.kind = Verdict::Kind::kRequeued;
    return verdict;
  }
  v.finished_ns = end.finished_ns;
  if (end.ok) {
    v.state = State::kSucceeded;
    v.error.clear();
    Retire(v);
    verdict.kind = Verdict::Kind::kSucceeded;
    return verdict;
  }
  v.error = end.error;
  int used = v.attempts - v.retry_base;  // attempts since the last redrive
  const Function* fn = nullptr;
  if (!end.permanent && used <= v.max_retries && PermanentError(v, &fn).empty()) {
    verdict.kind = Verdict::Kind::kRetry;
    verdict.delay_ns = Backoff(used);
    verdict.retry = used;
    v.state = State::kFailed;
    v.next_ns = clock_.NowNanos() + verdict.delay_ns;
    ++queued_;
    Ready(v);
    MarkDirty(v);
    return verdict;
  }
  std::string why = end.error + " (" + std::to_string(v.attempts) + " attempt" + (v.attempts == 1 ? "" : "s") + ")";
  if (end.permanent) {
    why += "; not retried: a permanent error";
  } else if (used > v.max_retries) {
    why += "; no retries left (MaximumRetryAttempts " + std::to_string(v.max_retries) + ")";
  }
  Kill(v, why, /*was_queued=*/false);
  verdict.kind = Verdict::Kind::kDead;
  verdict.error = why;
  return verdict;
}

void Plan::Kill(Invocation& v, const std::string& error, bool was_queued) {
  if (was_queued) --queued_;
  v.state = State::kDead;
  v.error = error;
  v.finished_ns = clock_.NowNanos();
  last_dead_ = v;
  Retire(v);
}

void Plan::Retire(Invocation& v) {
  MarkDirty(v);
  int64_t n = v.n;
  auto lane = lanes_.find(v.Lane());
  if (lane != lanes_.end()) {
    auto& q = lane->second;
    q.erase(std::remove(q.begin(), q.end(), n), q.end());
    if (q.empty()) {
      lanes_.erase(lane);
    } else if (const Invocation& next = active_.at(q.front()); next.state != State::kRunning) {
      Ready(next);
    }
  }
  active_.erase(n);
}

void Plan::Redrive(Invocation v) {
  v.state = State::kPending;
  v.retry_base = v.attempts;
  v.age_base_ns = clock_.NowNanos();
  v.next_ns = 0;
  MarkDirty(v);
  Admit(std::move(v));
}

bool Plan::Cancel(int64_t n, const std::string& why) {
  auto it = active_.find(n);
  if (it == active_.end()) return false;
  Invocation& v = it->second;
  bool was_queued = !UnmarkRunning(v);
  if (was_queued) Unready(v);
  Kill(v, why, was_queued);
  return true;
}

void Plan::Forget(int64_t n) {
  auto it = active_.find(n);
  if (it == active_.end()) return;
  Invocation& v = it->second;
  if (!UnmarkRunning(v)) {
    --queued_;
    Unready(v);
  }
  auto lane = lanes_.find(v.Lane());
  if (lane != lanes_.end()) {
    auto& q = lane->second;
    q.erase(std::remove(q.begin(), q.end(), n), q.end());
    if (q.empty()) lanes_.erase(lane);
  }
  dirty_.erase(n);
  active_.erase(it);
}

void Plan::KeepDirty(std::map<int64_t, Invocation> unsaved) {
  for (auto& [n, v] : unsaved) dirty_.emplace(n, std::move(v));  // emplace keeps a newer change
}

int64_t Plan::Backoff(int attempt_in_budget) {
  int64_t delay = options_.retry_base_ns;
  for (int i = 1; i < attempt_in_budget && delay < options_.retry_max_ns; ++i) delay *= 2;
  delay = std::min(delay, options_.retry_max_ns);
  double j;
  if (options_.jitter) {
    j = options_.jitter();
  } else {
    j = random_.Unit();
  }
  // "Equal jitter": half the delay fixed, half random, so retries of many
  // invocations spread out but none comes back at once.
  return delay / 2 + static_cast<int64_t>(static_cast<double>(delay / 2) * j);
}

}  // namespace bucketd::runner
