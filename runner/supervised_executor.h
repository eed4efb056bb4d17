// The executor of exec targets: each attempt runs under a bucketd-supervisor
// (runner/exec_run.h) that outlives bucketd and leaves the attempt's outcome
// in its run directory, <state>/runs/<id>.<attempt>/. A restarted bucketd
// re-attaches to supervisors still running (Traces, Reattach) and collects
// those that finished while it was down.
//
// Thread-safety: one thread.
#ifndef BUCKETD_RUNNER_SUPERVISED_EXECUTOR_H_
#define BUCKETD_RUNNER_SUPERVISED_EXECUTOR_H_

#include <sys/types.h>

#include <map>
#include <string>

#include "runner/exec_run.h"
#include "runner/executor.h"

namespace bucketd::runner {

struct SupervisedOptions {
  std::string runs_dir;    // <state_dir>/runs
  std::string supervisor;  // the bucketd-supervisor program
  std::string store_root;  // $BUCKETD_ROOT for the targets
  int64_t kill_grace_ns = 10'000'000'000;  // SIGTERM at the deadline, SIGKILL this much later
  int64_t poll_ns = 100'000'000;           // output lines and re-attached runs
  size_t idle_supervisors = 2;             // started ahead, so an attempt costs one exec
  bool test_kill_after_run_dir = false;    // test hook (SupervisorPool); no held starts
};

class SupervisedExecutor final : public Executor {
 public:
  explicit SupervisedExecutor(SupervisedOptions options);

  std::string RunDir(const std::string& id, int attempt) const;

  void SetFunctions(const FunctionSet& functions) override;
  bool CanHold() const override { return !options_.test_kill_after_run_dir && pool_.has_idle(); }
  Status Start(const Attempt& a, bool held) override;
  void Release(bool go) override;
  void Drop(int64_t n) override;
  void Cancel(int64_t n) override;
  std::map<std::string, int> Traces() override { return LatestRunDirs(options_.runs_dir); }
  bool Reattach(int64_t n, const std::string& id, int attempt, int64_t started_ns) override;
  void ExpireTraces(int64_t now, int64_t retention,
                    const std::function<std::optional<int64_t>(const std::string&)>& finished_at) override;
  ExecutorReport Collect(int64_t now) override;
  int64_t NextCollectNs(int64_t now) const override;

 private:
  struct Run {
    std::string dir;
    int attempt = 0;
    pid_t pid = 0;  // 0: a supervisor of an earlier bucketd (re-attached)
    int64_t started_ns = 0;
    uint64_t output_offset = 0;
  };
  ExecSpec Spec(const Attempt& a) const;
  void Tail(int64_t n, Run& run, ExecutorReport& report);
  // The end of n's attempt, read from its run directory.
  void Finish(int64_t n, int64_t now, ExecutorReport& report);

  const SupervisedOptions options_;
  SupervisorPool pool_;
  bool keep_warm_ = false;  // some function is a program: keep idle supervisors
  std::map<int64_t, Run> runs_;
  std::map<pid_t, int64_t> children_;      // supervisor pid -> n
  std::map<int64_t, UniqueFd> held_;       // held starts -> their supervisor's socket
  std::vector<int64_t> exited_;            // n whose supervisor exited, to collect
  int64_t next_poll_ns_ = 0;
  int64_t last_start_ns_ = 0;
};

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_SUPERVISED_EXECUTOR_H_
