// The runner: turns matches into durable invocations and runs them — exec
// targets through a supervisor process each, built-in stages on worker
// threads — with dead-letter records and destinations. What may start next
// and what an attempt's end means (lanes, concurrency, retries and backoff,
// dead) is decided by its Plan (runner/plan.h), pure logic over a Clock; the
// runner carries the decisions out and saves what changed.
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
// built-in stages run on the runner's own worker threads.
#ifndef BUCKETD_RUNNER_RUNNER_H_
#define BUCKETD_RUNNER_RUNNER_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/env.h"
#include "common/sqlite_db.h"
#include "common/unique_fd.h"
#include "events/event_plane.h"
#include "rules/router.h"
#include "runner/builtin.h"
#include "runner/exec_run.h"
#include "runner/function.h"
#include "runner/invocation.h"
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
};

struct RunnerStats {
  size_t queued = 0;    // pending or waiting for a retry
  size_t running = 0;
  bool stalled = false;  // cannot record: nothing starts
  uint64_t succeeded = 0, failed_attempts = 0, dead = 0;
  std::string last_error;  // "<function> <id>: <error>" of the latest dead invocation
};

class Runner {
 public:
  // `db` is the trail's database; the store and env outlive the runner.
  Runner(Env& env, SqliteDb& db, store::Store& store, RunnerOptions options,
         BuiltinRegistry builtins);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  void SetFunctions(std::shared_ptr<const FunctionSet> functions);
  const BuiltinRegistry& builtins() const { return builtins_; }

  // At start: loads what is not finished, re-attaches to running
  // supervisors, collects attempts that ended while bucketd was down.
  Status Recover();
  // Queues the matches' invocations inside `txn`, a transaction of the
  // trail's database (the one that appends their records, so they commit
  // with one fsync). Bad input is not an error here: the invocation records
  // why it cannot run.
  Status Enqueue(Transaction& txn, const std::vector<rules::Match>& matches);
  // Still inside the transaction, after its Enqueues: hands the exec
  // attempts that may start to idle supervisors, held until the commit is
  // durable, so the target's start waits for the fsync and nothing else.
  void PrepareStarts();
  // After a transaction with Enqueue committed: releases the held starts,
  // starts what else can start.
  void OnDurable();
  // The transaction with Enqueue was rolled back: held starts are aborted.
  void OnRollback();
  // A child exited (SIGCHLD): collects finished supervisors.
  void OnChildExit();
  // Periodic work: due retries, built-in completions, output lines,
  // re-attached runs, saving state. Returns ns until it wants to run again.
  int64_t OnTick();
  // Readable when a built-in stage finished.
  int wake_fd() const { return wake_.get(); }

  // Makes dead invocations pending again with a fresh retry budget (all
  // dead ones when `ids` is empty). Returns how many.
  Result<int> Redrive(const std::vector<std::string>& ids);
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
  std::string RunDir(const std::string& id, int attempt) const;

 private:
  struct ActiveRun {
    int attempt = 0;
    pid_t pid = 0;           // 0: a supervisor of an earlier bucketd (re-attached)
    bool builtin = false;
    int64_t started_ns = 0;
    int64_t deadline_ns = 0;
    uint64_t output_offset = 0;
    std::shared_ptr<std::atomic<bool>> cancelled;
  };
  struct BuiltinJob {
    int64_t n;
    const BuiltinStage* stage;
    std::shared_ptr<StageContext> ctx;
  };
  struct BuiltinDone {
    int64_t n;
    Status status;
    int64_t started_ns, finished_ns;
  };
  struct AttemptResult {
    bool ok = false;
    std::string outcome;  // for the attempt record
    std::string error;
    int64_t started_ns = 0, finished_ns = 0;
    bool not_started = false;  // a held start that was aborted
  };

  Status Insert(const rules::Match& m);
  void LoadNew();
  void CollectBuiltins();
  void LogQueued(const Invocation& v);
  // Starts what the plan says may start. held: only invocations queued in
  // the open transaction, as held starts.
  void Dispatch(bool held = false);
  // REQUIRES: the plan marked n running with its next attempt.
  void StartAttempt(int64_t n, const Function& fn, bool held = false);
  void Complete(int64_t n, AttemptResult result);
  // What follows a death: the log, the dead-letter record, OnFailure.
  void Dead(const Invocation& v);
  // Frees n's run slot; false when it had none.
  bool ReleaseRun(int64_t n);
  // Takes v as running its attempt v.attempts (at recovery). Returns v.n.
  int64_t Adopt(Invocation v);
  void CollectExec(int64_t n);
  void TailOutput(int64_t n, ActiveRun& run);
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
  void WorkerLoop();
  LogFields Fields(const Invocation& v, int attempt) const;
  // Removes run directories of finished (or unknown) invocations older
  // than the retention.
  void ExpireRunDirs(int64_t now);

  Env& env_;
  InvocationStore queue_;
  store::Store& store_;
  const RunnerOptions options_;
  const BuiltinRegistry builtins_;
  std::shared_ptr<const FunctionSet> functions_;
  bool has_exec_ = false;  // some function is a program: keep idle supervisors

  Plan plan_;  // invocation states, lanes, retries; what starts next
  int64_t last_n_ = 0;
  std::map<int64_t, ActiveRun> running_;                  // attempts under way, as executed
  std::map<pid_t, int64_t> children_;                     // supervisor pid -> n
  std::set<int64_t> staged_;                              // queued in the open transaction
  std::map<int64_t, UniqueFd> held_;                      // held starts -> their supervisor's socket
  std::vector<AttemptRecord> attempts_to_save_;
  int64_t next_poll_ns_ = 0;
  int64_t last_start_ns_ = 0;
  int64_t next_expiry_ns_ = 0;
  bool stalled_ = false;
  int64_t next_stall_check_ns_ = 0;
  RunnerStats stats_;

  SupervisorPool pool_;
  UniqueFd wake_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<BuiltinJob> jobs_;     // guarded by mu_
  static Status RunStage(BuiltinJob& job);
  std::vector<BuiltinDone> done_;   // guarded by mu_
  bool stopping_ = false;           // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_RUNNER_H_
