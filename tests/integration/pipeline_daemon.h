// A bucketd with a config directory in a temp dir, for tests that drive
// the whole path: files -> events -> rules -> invocations -> targets.
#ifndef BUCKETD_TESTS_INTEGRATION_PIPELINE_DAEMON_H_
#define BUCKETD_TESTS_INTEGRATION_PIPELINE_DAEMON_H_

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace bucketd::testing {

class PipelineDaemon {
 public:
  explicit PipelineDaemon(const std::string& base)
      : root_(base + "/root"), cfg_(base + "/cfg"), out_(base + "/out"), log_(base + "/bucketd.log") {
    for (const auto& d : {cfg_, cfg_ + "/rules.d", cfg_ + "/functions.d", out_}) ::mkdir(d.c_str(), 0755);
  }
  ~PipelineDaemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      Wait(pid_);
    }
  }
  const std::string& root() const { return root_; }
  int pid() const { return pid_; }
  const std::string& cfg() const { return cfg_; }
  const std::string& out() const { return out_; }
  std::string Log() const { return ReadFile(log_); }
  const std::string& log_path() const { return log_; }

  // A rule: objects created under `prefix` in bucket data -> function.
  void AddRule(const std::string& name, const std::string& prefix, const std::string& function,
               const std::string& target_extra = "") {
    WriteFile(cfg_ + "/rules.d/" + name + ".json",
              R"({"Name":")" + name + R"(","EventPattern":{"source":["aws.s3"],"detail-type":["Object Created"],)"
              R"("detail":{"bucket":{"name":["data"]},"object":{"key":[{"prefix":")" + prefix + R"("}]}}},)"
              R"("Targets":[{"Id":"t","Arn":"arn:aws:lambda:local:000000000000:function:)" + function + "\"" +
                  target_extra + "}]}");
  }
  // An exec function running runner_probe in `mode` (see tests/runner/probe_target.cc).
  void AddProbeFunction(const std::string& name, const std::string& mode, const std::string& extra_vars = "") {
    AddFunction(name, BinDir() + "/runner_probe", R"("MODE":")" + mode + R"(","OUT":")" + out_ + "\"" + extra_vars);
  }
  void AddFunction(const std::string& name, const std::string& program, const std::string& vars) {
    WriteFile(cfg_ + "/functions.d/" + name + ".json",
              R"({"FunctionName":")" + name + R"(","Runtime":"exec","Handler":")" + program +
                  R"(","Timeout":30,"Environment":{"Variables":{)" + vars + "}}}");
  }

  // `where` replaces "--config-dir CFG" when given; `env` ("K=V K2=V2")
  // is added to bucketd's environment.
  void Start(const std::string& where = "", const std::string& env = "") {
    pid_ = Spawn({"/bin/sh", "-c", "exec " + (env.empty() ? "" : "env " + env + " ") + BinDir() + "/bucketd --root " + root_ + " " +
                                       (where.empty() ? "--config-dir " + cfg_ : where) + " 2>>" + log_});
    ++starts_;
  }
  bool WaitReady() {
    return WaitFor([&] { return Count(Log(), "bucketd serving store") >= starts_; }, 20000);
  }
  void Kill9() {
    ::kill(pid_, SIGKILL);
    Wait(pid_);
    pid_ = -1;
  }
  // Waits (up to 20 s, then kills it) for a bucketd that ends by itself;
  // its exit code or -signal, or 1000 when it had to be killed.
  int WaitExit() {
    int status = 0;
    for (int i = 0; i < 2000; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill9();
    return 1000;
  }
  int Stop() {
    ::kill(pid_, SIGTERM);
    int rc = Wait(pid_);
    pid_ = -1;
    return rc;
  }
  RunResult Ctl(std::vector<std::string> args) const {
    args.insert(args.begin(), {BinDir() + "/bucketctl", "--root", root_});
    return Run(args);
  }

  static bool WaitFor(const std::function<bool()>& pred, int timeout_ms = 15000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
  }
  static int Count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  }

 private:
  std::string root_, cfg_, out_, log_;
  int pid_ = -1;
  int starts_ = 0;
};

}  // namespace bucketd::testing

#endif  // BUCKETD_TESTS_INTEGRATION_PIPELINE_DAEMON_H_
