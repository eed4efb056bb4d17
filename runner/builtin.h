// Built-in stages: functions with Runtime "builtin" run in bucketd's own
// worker threads. A stage gets its input and a context; it writes its
// outputs through the store (with ctx.PutOptions(), which carries the chain)
// and returns OK or the error that fails the attempt.
//
// Crash guarantee, weaker than exec targets': a built-in stage dies with
// bucketd, and its invocation is retried at the next start. Stages are told
// their invocation id and attempt and must be idempotent (write the marker
// last, with a create-only put).
//
// Thread-safety: a stage runs on a worker thread; the store is thread-safe,
// log() may be called from that thread.
#ifndef BUCKETD_RUNNER_BUILTIN_H_
#define BUCKETD_RUNNER_BUILTIN_H_

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "common/status.h"
#include "store/store.h"

namespace bucketd::runner {

struct StageContext {
  std::string invocation_id;
  int attempt = 1;
  int64_t deadline_ns = 0;  // Unix time
  std::string input;
  std::string event_json;
  std::string chain;        // "<chain id>:<hop>"
  store::Store* store = nullptr;  // its env() is how a stage reaches files and the clock
  std::string state_dir;   // bucketd's state directory: a stage keeps private work here
  std::string config_dir;  // bucketd's configuration directory (empty: none)
  std::function<void(const std::string&)> log;  // a progress line, tagged with the invocation
  const std::atomic<bool>* cancelled = nullptr;  // set at the deadline or shutdown
  // Set by a stage whose error no retry can change (an archive refused for
  // what it holds): the attempt is not retried, the invocation goes dead at
  // once (a redrive still tries again, for after the input was fixed).
  bool permanent_failure = false;
  // Options for a put of the stage's output: carries the chain.
  store::PutOptions PutOptions() const;
};

using BuiltinStage = std::function<Status(StageContext&)>;

class BuiltinRegistry {
 public:
  void Add(const std::string& name, BuiltinStage stage) { stages_[name] = std::move(stage); }
  const BuiltinStage* Find(const std::string& name) const {
    auto it = stages_.find(name);
    return it == stages_.end() ? nullptr : &it->second;
  }
  std::set<std::string> Names() const;

 private:
  std::map<std::string, BuiltinStage> stages_;
};

// The stages every bucketd has: "noop" (succeeds, does nothing).
BuiltinRegistry DefaultBuiltins();

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_BUILTIN_H_
