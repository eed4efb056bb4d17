// Executors carry out the attempts the plan decided on; the runner owns the
// plan, the queue and what an ended attempt means, an executor only how an
// attempt runs:
//
//  * SupervisedExecutor (runner/supervised_executor.h): exec targets, each
//    under a bucketd-supervisor that outlives bucketd, with run directories;
//  * BuiltinExecutor (runner/builtin_executor.h): built-in stages on a pool
//    of worker threads inside bucketd;
//  * tests/runner/fake_executor.h: attempts that end when the test says.
//
// The runner calls Collect whenever something may have happened (a child
// exited, wake_fd() became readable, the time NextCollectNs asked for) and
// hears of every ended attempt exactly once, there.
//
// Thread-safety: one thread (the daemon's main loop) calls every method.
#ifndef BUCKETD_RUNNER_EXECUTOR_H_
#define BUCKETD_RUNNER_EXECUTOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "runner/exec_run.h"
#include "runner/function.h"
#include "runner/invocation.h"

namespace bucketd::runner {

// One attempt as the runner hands it over. The references are valid for the
// call that receives it only.
struct Attempt {
  int64_t n = 0;
  const Invocation& invocation;  // attempts is this attempt's number
  const Function& function;
  int64_t started_ns = 0;
  int64_t deadline_ns = 0;  // Unix time: the function's Timeout
  std::string chain;        // "<chain id>:<hop>" of the invocation
  // The chain with bucketd's proof, for a program's $BUCKETD_CHAIN: what
  // its bucketctl writes then continues the chain, and nothing typed by hand
  // does (Store::SignChain).
  std::string signed_chain;
  int number() const { return invocation.attempts; }
};

// How an attempt ended, as its executor saw it.
struct AttemptResult {
  int64_t n = 0;
  bool ok = false;
  bool not_started = false;  // never reached its target: costs no attempt
  bool permanent = false;    // the target says no retry can help: dead after this attempt
  // It may have ended so because the state directory takes no writes: the
  // runner checks before it believes the attempt's end.
  bool check_state_dir = false;
  std::string outcome;  // for the attempt record: succeeded, failed, timed out, interrupted, not started
  std::string error;
  // What the target answered (a Lambda handler's return value as JSON, or
  // its runtime's error document); empty when it answers nothing.
  std::string response;
  int64_t started_ns = 0, finished_ns = 0;
};

// What Collect found since its last call.
struct ExecutorReport {
  std::vector<AttemptResult> ended;
  struct Line {
    int64_t n;
    int attempt;
    OutputLine line;
  };
  std::vector<Line> output;  // the targets' output lines, in order per attempt
};

class Executor {
 public:
  virtual ~Executor() = default;

  // The functions changed (an executor may keep resources warm for them).
  virtual void SetFunctions(const FunctionSet&) {}

  // Whether Start(…, held=true) can take an attempt now.
  virtual bool CanHold() const { return false; }
  // Starts the attempt. held: everything is made ready, but the attempt
  // waits for Release(true) (its invocation's transaction is not durable
  // yet). An error means it did not start; the runner decides what that
  // costs.
  virtual Status Start(const Attempt& a, bool held) = 0;
  // The held starts go (their transaction is durable) or never start (it
  // was rolled back; the runner then Drops them).
  virtual void Release(bool go) { (void)go; }
  // Forgets attempt n without its end (its invocation is gone).
  virtual void Drop(int64_t n) = 0;
  // Ends attempt n's work as far as it can and forgets it (bucketctl runs
  // cancel). A built-in stage's thread cannot be stopped: its end is ignored.
  virtual void Cancel(int64_t n) { Drop(n); }

  // At recovery: the latest attempt an earlier bucketd left a trace of, by
  // invocation id.
  virtual std::map<std::string, int> Traces() { return {}; }
  // At recovery: takes over attempt `attempt` of invocation `id` (queue
  // number n) that an earlier bucketd started. Returns whether it still
  // runs; either way its end comes through Collect.
  virtual bool Reattach(int64_t n, const std::string& id, int attempt, int64_t started_ns) {
    (void)n, (void)id, (void)attempt, (void)started_ns;
    return false;
  }
  // Removes the traces of attempts older than `retention` whose invocation
  // `finished_at` says is over (it returns the end time, 0 when unknown, or
  // nothing while the invocation is active).
  virtual void ExpireTraces(int64_t now, int64_t retention,
                            const std::function<std::optional<int64_t>(const std::string& id)>& finished_at) {
    (void)now, (void)retention, (void)finished_at;
  }

  // Ended attempts and output since the last call; enforces deadlines that
  // are the executor's to enforce.
  virtual ExecutorReport Collect(int64_t now) = 0;
  // When Collect wants to be called again at the latest (INT64_MAX: only
  // when something happens).
  virtual int64_t NextCollectNs(int64_t now) const {
    (void)now;
    return INT64_MAX;
  }
  // Readable when Collect has news (-1: none such).
  virtual int wake_fd() const { return -1; }

  // Takes no new attempts from now on. Returns the ones handed over that
  // never began: they cost nothing and stay queued.
  virtual std::vector<int64_t> Drain() { return {}; }
  // Whether an attempt is still at work that bucketd's stop must wait for
  // (exec targets go on under their supervisors: never).
  virtual bool MustWaitFor(int64_t n) const {
    (void)n;
    return false;
  }
  // After Drain and the last attempt waited for: releases what it holds.
  virtual void Stop() {}
};

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_EXECUTOR_H_
