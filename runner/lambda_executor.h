// Lambda's execution environments for python3.x functions: a process that
// runs bucketd's Python runtime (runner/runtimes/python_bootstrap.py), which
// imports the handler once and then takes invocation after invocation from
// the Lambda Runtime API that this executor serves it on loopback, one
// server per environment (AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT).
//
// An environment is warm: its module, globals and TMPDIR live from one
// invocation to the next. One serves one invocation at a time; more at once
// start more environments (the plan's concurrency limits apply as to any
// function). A timeout or a crash ends that environment only (the next
// invocation gets a fresh one, whose REPORT says its Init Duration); an
// environment idle for `idle_ns` is stopped. They do not outlive bucketd:
// an attempt at work when bucketd stops is waited for, like a built-in stage.
//
// Logs: the runtime's stdout and stderr lines, framed by Lambda's START,
// END and REPORT lines, go out as the attempt's output lines.
//
// Thread-safety: as every executor, called by one thread; the Runtime API
// handlers run on the servers' threads and meet it under a mutex.
#ifndef BUCKETD_RUNNER_LAMBDA_EXECUTOR_H_
#define BUCKETD_RUNNER_LAMBDA_EXECUTOR_H_

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/unique_fd.h"
#include "runner/executor.h"

namespace bucketd::http {
class Server;
class Exchange;
}  // namespace bucketd::http

namespace bucketd::runner {

// Temporary credentials for a function's role.
struct RoleSession {
  std::string access_key_id, secret_access_key, session_token;
  int64_t expires_ns = 0;
};
// (role ARN, session name = the function's name, seconds) -> credentials, or
// why the role cannot be assumed.
using RoleCredentials = std::function<Result<RoleSession>(const std::string&, const std::string&, int64_t)>;

struct LambdaOptions {
  std::string state_dir;  // environments' files under <state_dir>/lambda
  std::string region = "local";
  std::string account = "000000000000";
  std::string python = "/usr/bin/python3";
  std::string node = "/usr/bin/node";
  // --jitless under a unit with MemoryDenyWriteExecute=yes, whose
  // seccomp filter (inherited) aborts V8's JIT.
  std::vector<std::string> node_flags;
  // AWS_ENDPOINT_URL given to functions (bucketd's endpoint); empty: none.
  std::string endpoint_url;
  int64_t idle_ns = 600'000'000'000;  // an environment unused this long is stopped
  // A function with a Role gets its credentials from here at each
  // environment's start; empty: such a function cannot start.
  RoleCredentials role_credentials;
};

// Lambda's "START RequestId: …" / "END …" / "REPORT …" lines.
std::string ReportLine(const std::string& request_id, int64_t duration_ns, int memory_mb, int64_t max_rss_kb,
                       int64_t init_ns);

class LambdaExecutor final : public Executor {
 public:
  LambdaExecutor(Clock& clock, LambdaOptions options);
  ~LambdaExecutor() override;

  void SetFunctions(const FunctionSet& functions) override;
  bool CanHold() const override { return true; }
  Status Start(const Attempt& a, bool held) override;
  void Release(bool go) override;
  void Drop(int64_t n) override;
  ExecutorReport Collect(int64_t now) override;
  int64_t NextCollectNs(int64_t now) const override;
  int wake_fd() const override { return wake_.get(); }
  std::vector<int64_t> Drain() override;
  bool MustWaitFor(int64_t n) const override { return runs_.count(n) != 0; }
  void Stop() override;

  // AWS_ENDPOINT_URL of environments started from now on.
  void set_endpoint_url(std::string url) { endpoint_url_ = std::move(url); }
  // Environments alive (tests, stats).
  size_t environments() const;

  struct Environment;

 private:
  struct Run {
    int64_t n = 0;
    int attempt = 0;
    std::string request_id;
    std::string input;
    std::string function_arn;
    int64_t started_ns = 0, deadline_ns = 0;
    int timeout_seconds = 0;
    int memory_mb = 0;
    Environment* env = nullptr;
  };
  Result<Environment*> EnvironmentFor(const Function& fn, int64_t now);
  void Hand(Run& run);
  void End(Run& run, AttemptResult r, ExecutorReport& report, bool keep_env);
  // Whether the environment has held more than the run's MemorySize (its
  // tree's resident memory, looked at while it works and when it answers).
  bool OverMemory(const Run& run, Environment& env);
  void Kill(Environment* env);
  bool Alive(const Environment* env) const;
  void ReadOutput(Environment& env, ExecutorReport& report, bool flush);

  // What a Runtime API thread hands the main thread.
  struct Posted {
    Environment* env;
    enum class Kind { kResponse, kError, kInitError } kind;
    std::string body;
  };
  void Post(Posted p);
  void ServeRuntimeApi(Environment& env, http::Exchange& ex);

  Clock& clock_;
  const LambdaOptions options_;
  std::string runtime_dir_;     // where bucketd's runtimes are written (absolute)
  std::string bootstrap_;       // the Python runtime's path
  std::string node_bootstrap_;  // the Node.js runtime's
  std::string endpoint_url_;
  std::mutex posted_mu_;
  std::vector<Posted> posted_;  // guarded by posted_mu_
  FunctionSet functions_;
  std::map<std::string, std::vector<std::unique_ptr<Environment>>> envs_;  // by function
  std::map<int64_t, Run> runs_;
  std::vector<int64_t> held_;
  std::vector<ExecutorReport::Line> start_lines_;  // START lines for the next Collect
  UniqueFd wake_;
  bool draining_ = false;
  uint64_t next_env_ = 0;
};

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_LAMBDA_EXECUTOR_H_
