// The executor of built-in stages: a pool of worker threads inside bucketd.
// A stage dies with bucketd (its invocation is retried at the next start);
// at its deadline, and at bucketd's stop once the deadline passed, it is
// asked to stop (StageContext::cancelled).
//
// Thread-safety: one thread calls the methods; stages run on the workers.
#ifndef BUCKETD_RUNNER_BUILTIN_EXECUTOR_H_
#define BUCKETD_RUNNER_BUILTIN_EXECUTOR_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/unique_fd.h"
#include "runner/builtin.h"
#include "runner/executor.h"
#include "store/store.h"

namespace bucketd::runner {

struct BuiltinOptions {
  int workers = 4;
  std::string state_dir;   // StageContext::state_dir
  std::string config_dir;  // StageContext::config_dir
  // A stage's progress line, from its worker thread (may be empty); `tag`
  // is the invocation as the attempt began (attempts: its number), without
  // its input and event.
  std::function<void(const Invocation& tag, const std::string& line)> log;
};

class BuiltinExecutor final : public Executor {
 public:
  // The clock and the store outlive the executor.
  BuiltinExecutor(Clock& clock, store::Store& store, const BuiltinRegistry& builtins, BuiltinOptions options);
  ~BuiltinExecutor() override;

  Status Start(const Attempt& a, bool held) override;
  void Drop(int64_t n) override;
  ExecutorReport Collect(int64_t now) override;
  int64_t NextCollectNs(int64_t now) const override;
  int wake_fd() const override { return wake_.get(); }
  std::vector<int64_t> Drain() override;
  bool MustWaitFor(int64_t n) const override { return runs_.count(n) != 0; }
  void Stop() override;

 private:
  struct Job {
    int64_t n;
    const BuiltinStage* stage;
    std::shared_ptr<StageContext> ctx;
  };
  struct Done {
    int64_t n;
    Status status;
    bool permanent;
    int64_t started_ns, finished_ns;
  };
  struct Run {
    int64_t deadline_ns = 0;
    std::shared_ptr<std::atomic<bool>> cancelled;
  };
  static Status RunStage(Job& job);
  void WorkerLoop();

  Clock& clock_;
  store::Store& store_;
  const BuiltinRegistry& builtins_;
  const BuiltinOptions options_;
  std::map<int64_t, Run> runs_;
  UniqueFd wake_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;    // guarded by mu_
  std::vector<Done> done_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_BUILTIN_EXECUTOR_H_
