// The runner: turns matches into durable invocations and runs them, with
// dead-letter records and destinations. What may start next and what an
// attempt's end means (lanes, concurrency, retries and backoff, dead) is
// decided by its Plan (runner/plan.h), pure logic over a Clock; how an
// attempt runs is its executors' business (runner/executor.h: exec targets
// under a supervisor process each, built-in stages on worker threads). The
// runner hands the plan's decisions to them, hears how attempts ended, and
// saves what changed.
//
// Guarantees (tests in tests/runner/):
//  * an invocation is inserted in the same transaction as the trail record
//    that caused it (the daemon's unit of work passes its transaction to
//    Enqueue), so it exists before the event is acknowledged and adds no
//    fsync of its own;
//  * the id is derived from (rule, target, event id, replay name): the same
//    match never queues twice;
//  * an exec target is started at most once per attempt and its outcome is
//    never lost to a bucketd crash: its supervisor (runner/exec_run.h)
//    outlives bucketd and leaves a durable status file; a restarted bucketd
//    re-attaches to supervisors still running and collects those that
//    finished. An invocation that succeeded is never run again. Only an
//    attempt whose supervisor itself died (kill -9 of the supervisor, power
//    loss) counts as failed and is retried: a target that already had an
//    effect then runs again, with the same BUCKETD_INVOCATION_ID and the next
//    BUCKETD_ATTEMPT, so it can make itself idempotent;
//  * built-in stages run inside bucketd and die with it; they are retried at
//    the next start (they too get the invocation id and attempt);
//  * invocations of one rule's target for one key run in queue order (a
//    lane); other lanes are not held up by a slow one.
//
// Thread-safety: one thread (the daemon's main loop) calls everything;
// built-in stages run on the built-in executor's worker threads.
#ifndef BUCKETD_RUNNER_RUNNER_H_
#define BUCKETD_RUNNER_RUNNER_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/sqlite_db.h"
#include "events/event_plane.h"
#include "rules/router.h"
#include "runner/builtin.h"
#include "runner/exec_run.h"
#include "runner/executor.h"
#include "runner/function.h"
#include "runner/invocation.h"
#include "runner/lambda_executor.h"
#include "runner/plan.h"
#include "store/store.h"

namespace bucketd::runner {

// What a log line is about; the daemon turns these into journal fields.
struct LogFields {
  std::string rule, target, function, invocation_id, bucket, key, error;
  std::string stage;  // a built-in function's stage, else the function's name
  int attempt = 0;
  int64_t duration_ms = -1;
  int stream = 0;  // output lines: 1 stdout, 2 stderr
};
using RunnerLog = std::function<void(events::LogLevel, const LogFields&, const std::string&)>;

struct RunnerOptions {
  std::string state_dir;   // run directories go in <state_dir>/runs
  std::string config_dir;  // built-in stages find their files (SQL, lists) here
  std::string supervisor;  // the bucketd-supervisor program
  std::string store_root;  // $BUCKETD_ROOT for exec targets
  events::TrailIdentity identity;
  int workers = 4;         // attempts running at once, all functions together
  int max_hops = 16;       // invocations in one chain (recursive loop detection)
  int64_t retry_base_ns = 1'000'000'000;     // first retry after 0.5-1 s,
  int64_t retry_max_ns = 300'000'000'000;    // doubling up to 2.5-5 min
  int64_t kill_grace_ns = 10'000'000'000;    // SIGTERM at the deadline, SIGKILL this much later
  int64_t poll_ns = 100'000'000;             // output lines and re-attached runs
  size_t idle_supervisors = 2;               // started ahead, so an attempt costs one exec
  int64_t run_retention_ns = 7LL * 24 * 3600 * 1'000'000'000;  // run directories of finished invocations
  std::function<double()> jitter;            // in [0, 1); empty: random
  int64_t stall_retry_ns = 2'000'000'000;    // state dir unwritable: check this often
  bool test_kill_after_run_dir = false;      // test hook (SupervisorPool); no held starts
  RunnerLog log;                             // may be empty
  // python3.x functions (runner/lambda_executor.h): their AWS_ENDPOINT_URL
  // (bucketd's endpoint; empty: none), the interpreter, how long an idle
  // execution environment is kept.
  std::string endpoint_url;
  std::string python = "/usr/bin/python3";
  std::string node = "/usr/bin/node";
  std::vector<std::string> node_flags;  // LambdaOptions::node_flags
  int64_t lambda_idle_ns = 600'000'000'000;
  RoleCredentials role_credentials;  // a function's Role's credentials; empty: none
};

struct RunnerStats {
  size_t queued = 0;    // pending or waiting for a retry
  size_t running = 0;
  bool stalled = false;  // cannot record: nothing starts
  uint64_t succeeded = 0, failed_attempts = 0, dead = 0;
  std::string last_error;  // "<function> <id>: <error>" of the latest dead invocation
};

// Lambda's Invoke (`bucketctl lambda invoke`, the endpoint's Invoke API).
// A synchronous one (RequestResponse) is not recorded, as in AWS: it runs at
// once in a warm environment, is not retried and goes to no destination.
struct SyncAnswer {
  std::string request_id;
  bool ok = false;       // the handler returned
  std::string payload;   // its return value (JSON text), else the runtime's error document
  std::string log_tail;  // the invocation's log lines, at most the last 4 KB
};
using SyncDone = std::function<void(SyncAnswer)>;

// The executors a runner carries its attempts out with; a null one gets
// the real kind (tests pass a FakeExecutor).
struct Executors {
  std::unique_ptr<Executor> exec;     // Runtime exec
  std::unique_ptr<Executor> builtin;  // Runtime builtin
  std::unique_ptr<Executor> lambda;   // Runtime python3.x
};

class Runner {
 public:
  // `db` is the trail's database; the store and env outlive the runner.
  Runner(Env& env, SqliteDb& db, store::Store& store, RunnerOptions options,
         BuiltinRegistry builtins, Executors executors = {});
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void SetFunctions(std::shared_ptr<const FunctionSet> functions);
  const BuiltinRegistry& builtins() const { return builtins_; }
  std::shared_ptr<const FunctionSet> functions() const { return functions_; }
  // The loaded function of that name, or null.
  const Function* FindFunction(const std::string& name) const {
    if (!functions_) return nullptr;
    auto it = functions_->find(name);
    return it == functions_->end() ? nullptr : &it->second;
  }

  // At start: loads what is not finished, re-attaches to running
  // supervisors, collects attempts that ended while bucketd was down.
  Status Recover();
  // Queues the matches' invocations inside `txn`, a transaction of the
  // trail's database (the one that appends their records, so they commit
  // with one fsync). Bad input is not an error here: the invocation records
  // why it cannot run.
  Status Enqueue(Transaction& txn, const std::vector<rules::Match>& matches);
  // An asynchronous invocation of `function` (Lambda's Event type), queued in
  // `txn` like a match's: durable with it, retried and sent to destinations
  // by the function's settings (Lambda's: 2 retries, 6 hours).
  Status EnqueueInvoke(Transaction& txn, const std::string& function, const std::string& payload,
                       const std::string& request_id);
  // A synchronous invocation: `done` is called on this thread when it ends
  // (also when bucketd stops first). InvalidArgument for a function this
  // bucketd does not have or whose runtime is not Lambda's.
  Status InvokeNow(const std::string& function, std::string payload, const std::string& request_id, SyncDone done);
  // Still inside the transaction, after its Enqueues: hands the attempts
  // that may start to executors that can hold them until the commit is
  // durable, so the target's start waits for the fsync and nothing else.
  void PrepareStarts();
  // After a transaction with Enqueue committed: releases the held starts,
  // starts what else can start.
  void OnDurable();
  // The transaction with Enqueue was rolled back: held starts are aborted.
  void OnRollback();
  // A child exited (SIGCHLD): collects finished supervisors.
  void OnChildExit();
  // Periodic work: due retries, ended attempts, output lines, saving state.
  // Returns ns until it wants to run again.
  int64_t OnTick();
  // Readable when a built-in stage finished.
  // AWS_ENDPOINT_URL for python3.x functions from now on.
  void SetEndpointUrl(const std::string& url);
  std::vector<int> wake_fds() const { return {builtin_->wake_fd(), lambda_->wake_fd()}; }

  // Makes dead invocations pending again with a fresh retry budget (all
  // dead ones when `ids` is empty). Returns how many.
  Result<int> Redrive(const std::vector<std::string>& ids);
  // bucketctl runs cancel: invocation `id` gets no more attempts and its
  // running one is ended (exec: SIGTERM, the grace, SIGKILL; a Lambda
  // environment is killed; a built-in stage's end is ignored). It is dead,
  // without destinations, and can be redriven. Returns the state it was in.
  Result<std::string> Cancel(const std::string& id);
  // Stops taking work: built-in stages at work get until their deadline
  // (then are asked to stop), queued ones stay pending; exec targets keep
  // running under their supervisors. Saves state.
  void Shutdown();

  RunnerStats stats() const {
    RunnerStats s = stats_;
    s.running = running_.size();
    s.queued = plan_.queued();
    s.stalled = stalled_;
    return s;
  }
  InvocationStore& queue() { return queue_; }
  // An exec attempt's run directory (runner/exec_run.h).
  std::string RunDir(const std::string& id, int attempt) const;

 private:
  Status Insert(const rules::Match& m);
  // A synchronous invocation's output and end.
  bool TakeSync(const ExecutorReport::Line& out);
  bool EndSync(const AttemptResult& r);
  void LoadNew();
  void LogStarted(const Invocation& v, const Function& fn);
  void LogQueued(const Invocation& v);
  Executor& ExecutorFor(const Function& fn) const {
    return fn.runtime == Runtime::kBuiltin ? *builtin_ : IsLambdaRuntime(fn.runtime) ? *lambda_ : *exec_;
  }
  // Starts what the plan says may start. held: only invocations queued in
  // the open transaction, as held starts.
  void Dispatch(bool held = false);
  // REQUIRES: the plan marked n running with its next attempt.
  void StartAttempt(int64_t n, const Function& fn, bool held);
  // Hears from every executor; what ended goes to Complete.
  void Collect();
  void Take(ExecutorReport report);
  void Complete(const AttemptResult& r);
  // What follows a death: the log, the dead-letter record, OnFailure.
  void Dead(const Invocation& v);
  void DeadLetter(const Invocation& v);
  void SendToDestination(const Invocation& v, const Destination& d, bool success);
  // Saves what changed (no fsync of its own); a failure stalls the runner.
  void Flush();
  Status Save();
  // Whether the state directory takes a new file's bytes (ENOSPC, EROFS…).
  Status ProbeStateDir();
  // While bucketd cannot record (the state directory is full or failing),
  // the runner starts nothing and spends no attempt; one log line when it
  // stops, one when it resumes (CheckStall, every stall_retry_ns).
  void Stall(const Status& why);
  void CheckStall(int64_t now);
  void Log(events::LogLevel level, const Invocation& v, const std::string& message,
           const std::string& error = "", int64_t duration_ms = -1);
  LogFields Fields(const Invocation& v, int attempt) const;
  // Removes run directories of finished (or unknown) invocations older
  // than the retention.
  void ExpireTraces(int64_t now);

  Env& env_;
  InvocationStore queue_;
  store::Store& store_;
  const RunnerOptions options_;
  const BuiltinRegistry builtins_;
  std::shared_ptr<const FunctionSet> functions_;

  Plan plan_;  // invocation states, lanes, retries; what starts next
  std::unique_ptr<Executor> exec_, builtin_, lambda_;
  int64_t last_n_ = 0;
  std::map<int64_t, Executor*> running_;  // attempts under way -> who runs them
  std::set<int64_t> staged_;              // queued in the open transaction
  std::vector<AttemptRecord> attempts_to_save_;
  int64_t next_expiry_ns_ = 0;
  bool stalled_ = false;
  int64_t next_stall_check_ns_ = 0;
  bool shut_down_ = false;
  RunnerStats stats_;
  struct SyncRun {
    Invocation invocation;
    SyncDone done;
    std::string log;
  };
  std::map<int64_t, SyncRun> sync_;  // by n, which counts down from -1
  int64_t next_sync_n_ = -1;
};

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_RUNNER_H_
