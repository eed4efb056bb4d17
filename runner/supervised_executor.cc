#include "runner/supervised_executor.h"

#include "runner/reaped.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>

#include "common/env.h"
#include "common/time_format.h"

namespace bucketd::runner {

namespace {

// Idle supervisors are replaced once starts have paused this long: an exec
// competes for the two cores with the targets just started.
constexpr int64_t kRefillQuietNs = 20'000'000;

}  // namespace

SupervisedExecutor::SupervisedExecutor(SupervisedOptions options)
    : options_(std::move(options)),
      pool_(options_.supervisor, options_.idle_supervisors, options_.runs_dir, options_.test_kill_after_run_dir) {}

std::string SupervisedExecutor::RunDir(const std::string& id, int attempt) const {
  return options_.runs_dir + "/" + RunDirName(id, attempt);
}

void SupervisedExecutor::SetFunctions(const FunctionSet& functions) {
  keep_warm_ = std::any_of(functions.begin(), functions.end(),
                           [](const auto& f) { return f.second.runtime == Runtime::kExec; });
}

ExecSpec SupervisedExecutor::Spec(const Attempt& a) const {
  const Invocation& v = a.invocation;
  const Function& fn = a.function;
  ExecSpec spec;
  spec.run_dir = RunDir(v.id, a.number());
  spec.supervisor = options_.supervisor;
  spec.program = fn.handler;
  spec.working_directory = fn.working_directory;
  spec.memory_mb = fn.memory_mb;
  spec.deadline_ns = a.deadline_ns;
  spec.grace_ns = options_.kill_grace_ns;
  for (const auto& [k, val] : fn.environment) spec.environment.push_back(k + "=" + val);
  spec.environment.push_back("BUCKETD_INVOCATION_ID=" + v.id);
  spec.environment.push_back("BUCKETD_ATTEMPT=" + std::to_string(a.number()));
  spec.environment.push_back("BUCKETD_DEADLINE=" + FormatRfc3339Millis(a.deadline_ns));
  spec.environment.push_back("BUCKETD_EVENT=" + spec.run_dir + "/event.json");
  spec.environment.push_back("BUCKETD_CHAIN=" + a.signed_chain);
  spec.environment.push_back("BUCKETD_FUNCTION=" + fn.name);
  spec.environment.push_back("BUCKETD_RULE=" + v.rule);
  spec.environment.push_back("BUCKETD_ROOT=" + options_.store_root);
  spec.input = v.input;
  spec.event_json = v.event_json;
  return spec;
}

Status SupervisedExecutor::Start(const Attempt& a, bool held) {
  ExecSpec spec = Spec(a);
  pid_t pid = 0;
  if (held) {
    ASSIGN_OR_RETURN(SupervisorPool::Held h, pool_.StartHeld(spec));
    pid = h.pid;
    held_[a.n] = std::move(h.control);
  } else {
    ASSIGN_OR_RETURN(pid, pool_.Start(spec));
  }
  runs_[a.n] = Run{spec.run_dir, a.number(), pid, a.started_ns, 0};
  children_[pid] = a.n;
  last_start_ns_ = a.started_ns;
  return Status::OK();
}

void SupervisedExecutor::Release(bool go) {
  for (auto& [n, control] : held_) SupervisorPool::Release(std::move(control), go);
  held_.clear();
}

void SupervisedExecutor::Drop(int64_t n) {
  auto run = runs_.find(n);
  if (run == runs_.end()) return;
  if (run->second.pid != 0) children_.erase(run->second.pid);
  runs_.erase(run);
}

void SupervisedExecutor::Cancel(int64_t n) {
  auto run = runs_.find(n);
  if (run == runs_.end()) return;
  // Its end, written by the supervisor, is waited for by nobody any more.
  CancelRun(run->second.dir);
  Drop(n);
}

bool SupervisedExecutor::Reattach(int64_t n, const std::string& id, int attempt, int64_t started_ns) {
  Run run{RunDir(id, attempt), attempt, 0, started_ns, 0};
  bool running = ProbeRun(run.dir) == RunState::kRunning;
  runs_[n] = std::move(run);
  if (!running) exited_.push_back(n);  // finished while bucketd was down, or cut off
  return running;
}

void SupervisedExecutor::Tail(int64_t n, Run& run, ExecutorReport& report) {
  for (auto& line : ReadOutput(run.dir, &run.output_offset)) {
    report.output.push_back({n, run.attempt, std::move(line)});
  }
}

void SupervisedExecutor::Finish(int64_t n, int64_t now, ExecutorReport& report) {
  auto it = runs_.find(n);
  if (it == runs_.end()) return;
  Run& run = it->second;
  Tail(n, run, report);
  AttemptResult r;
  r.n = n;
  r.started_ns = run.started_ns;
  r.finished_ns = now;
  auto outcome = ReadOutcome(run.dir);
  if (!outcome.ok() && !ReachedTarget(run.dir)) {
    r.not_started = true;
    r.check_state_dir = true;
    r.outcome = "not started";
    r.error = "no supervisor started the target (bucketd stopped, or the state directory took no writes)";
  } else if (!outcome.ok()) {
    // Nothing of that attempt may run on beside the next one.
    KillTargetGroup(run.dir);
    r.outcome = "interrupted";
    r.error = "the attempt was cut off: its supervisor died before the target finished (" +
              outcome.status().message() + ")";
  } else {
    r.ok = outcome->succeeded();
    r.not_started = outcome->not_started;
    r.outcome = r.ok ? "succeeded" : r.not_started ? "not started" : outcome->timed_out ? "timed out" : "failed";
    r.error = r.ok ? "" : outcome->Describe();
    r.started_ns = outcome->started_ns;
    r.finished_ns = outcome->finished_ns;
  }
  report.ended.push_back(std::move(r));
  Drop(n);
}

ExecutorReport SupervisedExecutor::Collect(int64_t now) {
  ExecutorReport report;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    auto it = children_.find(pid);
    if (it != children_.end()) {
      exited_.push_back(it->second);
    } else {
      NoteReaped(pid, status);
    }
  }
  if (now >= next_poll_ns_) {
    next_poll_ns_ = now + options_.poll_ns;
    for (auto& [n, run] : runs_) {
      Tail(n, run, report);
      // Re-attached supervisors are no children of this bucketd: their
      // lock says when they are done.
      if (run.pid == 0 && ProbeRun(run.dir) != RunState::kRunning) exited_.push_back(n);
    }
  }
  std::vector<int64_t> exited = std::exchange(exited_, {});
  for (int64_t n : exited) Finish(n, now, report);
  if (keep_warm_ && now - last_start_ns_ >= kRefillQuietNs) pool_.Refill();
  return report;
}

int64_t SupervisedExecutor::NextCollectNs(int64_t now) const {
  int64_t next = INT64_MAX;
  if (!runs_.empty() || !exited_.empty()) next = exited_.empty() ? next_poll_ns_ : now;
  if (keep_warm_ && !pool_.full()) next = std::min(next, last_start_ns_ + kRefillQuietNs);
  return next;
}

void SupervisedExecutor::ExpireTraces(
    int64_t now, int64_t retention,
    const std::function<std::optional<int64_t>(const std::string&)>& finished_at) {
  for (const auto& [id, latest] : LatestRunDirs(options_.runs_dir)) {
    std::optional<int64_t> finished = finished_at(id);
    if (!finished) continue;
    for (int a = 1; a <= latest; ++a) {
      std::string dir = RunDir(id, a);
      struct stat st;
      if (::stat(dir.c_str(), &st) != 0) continue;
      int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * kNanosPerSecond + st.st_mtim.tv_nsec;
      if (now - std::max(*finished, mtime) < retention) continue;
      if (ProbeRun(dir) == RunState::kRunning) continue;
      RemoveRunDir(dir);
    }
  }
}

}  // namespace bucketd::runner
