// One attempt of an exec target, as files: the run directory
// <state>/runs/<invocation id>.<attempt>/ holds
//
//   input       the target's stdin (the final input)
//   event.json  the event ($BUCKETD_EVENT)
//               (both written by the supervisor from the job it is handed,
//               or by bucketd when they are too large for one datagram)
//   lock        flock'ed by bucketd before the supervisor starts and by the
//               supervisor until it exits: held = the attempt is running
//   output      the target's stdout/stderr lines: "<unix ms> <1|2> <text>"
//   supervisor.pid  the supervisor's pid, written before the target starts:
//               a directory without it is an attempt no target saw
//   target.pgid the target's process group (the target's pid)
//   status      written last, atomically and fsync'd, by the supervisor:
//               "exit N" | "signal N" | "exec_error …" | "not_started 1",
//               "timed_out 1",
//               "started_ns", "finished_ns"
//
// The directory, not the database, says whether an attempt started: bucketd
// makes it and spawns the supervisor before it records anything, so the
// spawn waits for no fsync, and a restart that finds a directory without a
// held lock or a status knows that attempt was cut off.
#ifndef BUCKETD_RUNNER_EXEC_RUN_H_
#define BUCKETD_RUNNER_EXEC_RUN_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace bucketd::runner {

struct ExecSpec {
  std::string run_dir;        // <state>/runs/<id>.<attempt>
  std::string supervisor;     // the bucketd-supervisor program
  std::string program;
  std::string working_directory;
  int memory_mb = 0;
  int64_t deadline_ns = 0;    // Unix time
  int64_t grace_ns = 0;       // SIGTERM -> SIGKILL
  std::vector<std::string> environment;  // "K=V", all the target gets
  std::string input;
  std::string event_json;
};

// Idle supervisors started ahead of need ("bucketd-supervisor --pool", each
// waiting on a socket for one attempt), so starting an attempt costs one
// exec — the target's — instead of two: on this kind of machine an exec
// costs 1.5-2.5 ms. An idle supervisor whose bucketd goes away sees EOF and
// exits; one that took an attempt runs it to the end like any supervisor.
class SupervisorPool {
 public:
  // `kill_after_run_dir` is a test hook: bucketd kills itself right after it
  // made a run directory, before any supervisor has the attempt.
  // Each idle supervisor gets a spare run directory under `runs_dir` (when
  // not empty), named ".spare-*"; those of an earlier bucketd are removed.
  SupervisorPool(std::string supervisor, size_t size, std::string runs_dir, bool kill_after_run_dir = false);
  ~SupervisorPool();
  SupervisorPool(const SupervisorPool&) = delete;
  SupervisorPool& operator=(const SupervisorPool&) = delete;
  // Starts idle supervisors until `size` wait (off the path of an event).
  void Refill();
  bool full() const { return idle_.size() >= size_; }
  bool has_idle() const { return !idle_.empty(); }
  // Makes the run directory and hands the attempt to an idle supervisor
  // (starting one when none waits). Returns the supervisor's pid, a child
  // of this process in its own session.
  Result<pid_t> Start(const ExecSpec& spec);
  // Hands the attempt to an idle supervisor that prepares everything and
  // then waits: Release(control, true) starts the target, Release(control,
  // false) or bucketd's end makes it leave "not_started" and exit. For an
  // attempt whose invocation is not durable yet: the start waits for the
  // commit only, not for the handover. Unavailable when none is idle.
  struct Held {
    pid_t pid;
    UniqueFd control;
  };
  Result<Held> StartHeld(const ExecSpec& spec);
  static void Release(UniqueFd control, bool go);

 private:
  struct Idle {
    pid_t pid;
    int socket;
    std::string spare;  // its run directory-to-be, or empty
    UniqueFd lock;      // the spare's lock file, not locked yet
  };
  Status AddIdle();
  Result<pid_t> Hand(const ExecSpec& spec, bool hold, UniqueFd* control);
  std::string supervisor_;
  size_t size_;
  std::string runs_dir_;
  bool kill_after_run_dir_;
  int64_t spares_made_ = 0;
  std::vector<Idle> idle_;
};

enum class RunState {
  kMissing,      // no run directory: the attempt never started
  kRunning,      // the supervisor holds the lock
  kFinished,     // the status file is there
  kInterrupted,  // neither: the supervisor died before the target finished
};
RunState ProbeRun(const std::string& run_dir);
// Whether a supervisor took the attempt and went on to start its target
// (supervisor.pid is there). An interrupted attempt that did not never ran
// its target and costs no attempt.
bool ReachedTarget(const std::string& run_dir);
// SIGKILL to the process group of an attempt whose supervisor died: the
// target itself dies with its supervisor (PR_SET_PDEATHSIG), what it started
// in its group does not. A process that left the group (setsid) escapes;
// only a cgroup would hold it (docs/runner.md).
void KillTargetGroup(const std::string& run_dir);
// bucketctl runs cancel: the running supervisor stops its target as at a
// timeout (SIGTERM, the grace, SIGKILL).
void CancelRun(const std::string& run_dir);

struct ExecOutcome {
  int exit_code = -1;
  int signal = 0;
  bool timed_out = false;
  bool not_started = false;  // a held start that was never released
  std::string exec_error;
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  bool succeeded() const { return exec_error.empty() && !timed_out && !not_started && exit_code == 0; }
  // "exit status 3", "killed by signal 9 (Killed)", "timed out after …", …
  std::string Describe() const;
};
Result<ExecOutcome> ReadOutcome(const std::string& run_dir);

struct OutputLine {
  int64_t unix_ms = 0;
  int stream = 1;  // 1 stdout, 2 stderr
  std::string text;
};
// Complete lines of the run's output from *offset on; advances *offset.
std::vector<OutputLine> ReadOutput(const std::string& run_dir, uint64_t* offset);

std::string RunDirName(const std::string& id, int attempt);
// Removes a run directory and the files above.
void RemoveRunDir(const std::string& dir);
// The highest attempt with a run directory, per invocation id.
std::map<std::string, int> LatestRunDirs(const std::string& runs_dir);

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_EXEC_RUN_H_
