// The runner's plan (Ninja's Plan): which invocations may start now, and
// what the end of an attempt means for its invocation — retry with backoff,
// dead, or done. Pure logic over a Clock: no threads, no processes, no
// files, no database; the Runner saves what the plan changed (TakeDirty) and
// carries out its decisions through its executors.
//
// Rules the plan keeps:
//  * lanes: invocations of one rule's target for one key start in queue
//    order, one at a time; other lanes are not held up by a slow one;
//  * at most `workers` attempts run at once, and a function's
//    ReservedConcurrentExecutions caps its own;
//  * retries: up to the target's MaximumRetryAttempts since the last redrive,
//    after an "equal jitter" exponential backoff; an attempt that never
//    reached its target costs none;
//  * dead: out of retries, or a permanent error (no such function, an input
//    that could not be built, a recursive loop, an event too old).
//
// Thread-safety: one thread.
#ifndef BUCKETD_RUNNER_PLAN_H_
#define BUCKETD_RUNNER_PLAN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <deque>
#include <vector>

#include "common/env.h"
#include "runner/function.h"
#include "runner/invocation.h"

namespace bucketd::runner {

struct PlanOptions {
  int workers = 4;                           // attempts at once, all functions together
  int max_hops = 16;                         // invocations in one chain
  int64_t retry_base_ns = 1'000'000'000;     // first retry after 0.5-1 s,
  int64_t retry_max_ns = 300'000'000'000;    // doubling up to 2.5-5 min
  std::function<double()> jitter;            // in [0, 1); empty: the Random's
};

// How an attempt ended, as the executor saw it.
struct AttemptEnd {
  bool ok = false;
  bool not_started = false;  // never reached its target: costs no attempt
  std::string error;
  int64_t finished_ns = 0;
  bool permanent = false;  // no retry can help (AttemptResult::permanent)
};

// What the plan made of an ended attempt.
struct Verdict {
  enum class Kind { kSucceeded, kRetry, kDead, kRequeued };
  Kind kind = Kind::kRequeued;
  int64_t delay_ns = 0;   // kRetry: until the next attempt
  int retry = 0;          // kRetry: which retry this is
  std::string error;      // kDead: why it is dead
};

// One decision of TakeReady.
struct Decision {
  int64_t n = 0;
  const Function* function = nullptr;  // null: the invocation is dead
  Invocation dead;                     // then: its last state (error, finished_ns)
};

class Plan {
 public:
  // `clock` outlives the plan.
  Plan(Clock& clock, PlanOptions options, Random& random = SystemRandom());

  void SetFunctions(std::shared_ptr<const FunctionSet> functions);
  const FunctionSet& functions() const { return *functions_; }

  // An unfinished invocation joins its lane (no-op when known).
  void Admit(Invocation v);
  // At recovery: v's latest attempt (v.attempts) is running.
  void AdoptRunning(Invocation v);
  bool Has(int64_t n) const { return active_.count(n) != 0; }
  // REQUIRES: Has(n).
  const Invocation& Get(int64_t n) const { return active_.at(n); }
  const std::map<int64_t, Invocation>& active() const { return active_; }

  // Decides what may start now, in order: lane heads that are due, while
  // slots are free. A decision with a function has been marked running with
  // its next attempt (the caller starts it, or gives it back with Unstart or
  // Finish); one without is dead for good (permanent error) unless
  // `errors_wait`, when it is left for later. `also` (may be empty) can
  // hold back a candidate, e.g. one that may not be started in a
  // transaction that is still open.
  std::vector<Decision> TakeReady(bool errors_wait = false,
                                  const std::function<bool(const Invocation&, const Function&)>& also = {});
  // A started attempt that never got under way: pending again, as if it had
  // not been tried; `requeue` puts it back in line at once.
  void Unstart(int64_t n, bool requeue = true);
  // The end of n's running attempt.
  Verdict Finish(int64_t n, const AttemptEnd& end);
  // Makes a dead invocation (loaded from the database) pending again with
  // a fresh retry budget.
  void Redrive(Invocation v);
  // Ends n now, dead with `why`, whatever it was doing (waiting, retrying or
  // running: the runner tells its executor). False: n is not active.
  bool Cancel(int64_t n, const std::string& why);
  // Forgets n entirely (its row was rolled back).
  void Forget(int64_t n);

  // Invocations changed since the last call, to save.
  std::map<int64_t, Invocation> TakeDirty() { return std::exchange(dirty_, {}); }
  // Puts back what could not be saved (newer changes win).
  void KeepDirty(std::map<int64_t, Invocation> unsaved);

  // Runs the plan does not start (RequestResponse invokes) that count
  // against their function's ReservedConcurrentExecutions all the same.
  void AddOutsideRun(const std::string& function) { ++running_by_function_[function]; }
  void EndOutsideRun(const std::string& function) { RunEnded(function); }
  bool AtConcurrencyLimit(const Function& fn) const;

  size_t running() const { return running_.size(); }
  size_t queued() const { return queued_; }
  bool AtWorkerLimit() const;
  // When the first waiting lane head is due (INT64_MAX: none).
  int64_t NextReadyNs() const { return ready_.empty() ? INT64_MAX : ready_.begin()->first; }
  // Why v can never run (empty: it can); *fn is its function when it has one.
  std::string PermanentError(const Invocation& v, const Function** fn) const;

 private:
  void MarkDirty(const Invocation& v) { dirty_[v.n] = v; }
  // Dead: leaves its lane; the lane's next one becomes ready.
  void Kill(Invocation& v, const std::string& error, bool was_queued = true);
  void Retire(Invocation& v);
  void Ready(const Invocation& v) { ready_.insert({v.next_ns, v.n}); }
  int RunningOf(const std::string& function) const;
  // One of the function's runs (the plan's or an outside one) ended.
  void RunEnded(const std::string& function);
  // Lets as many of the function's held lane heads be ready as it has room.
  void Release(const std::string& function);
  void MarkRunning(const Invocation& v);
  // False when v was not running. A freed place lets one of its function's
  // held lane heads be ready again.
  bool UnmarkRunning(const Invocation& v);
  // Takes v's lane head entry out of ready_ or held_.
  void Unready(const Invocation& v);
  int64_t Backoff(int attempt_in_budget);

  Clock& clock_;
  const PlanOptions options_;
  Random& random_;
  std::shared_ptr<const FunctionSet> functions_;
  std::map<int64_t, Invocation> active_;                  // by n, not finished
  std::unordered_map<std::string, std::deque<int64_t>> lanes_;
  std::set<std::pair<int64_t, int64_t>> ready_;           // (next_ns, n), lane heads waiting
  std::set<int64_t> running_;
  std::unordered_map<std::string, int> running_by_function_;
  // Lane heads due but held: their function is at its
  // ReservedConcurrentExecutions (so the scan for ready ones skips them).
  std::map<std::string, std::set<std::pair<int64_t, int64_t>>> held_;
  size_t queued_ = 0;                                     // pending or waiting for a retry
  std::map<int64_t, Invocation> dirty_;
  Invocation last_dead_;  // what Kill made of the invocation it retired
};

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_PLAN_H_
