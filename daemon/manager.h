// The daemon's manager (systemd's pattern, as in oomd's manager): it owns the
// main loop and the one unit of work that carries a change from the event
// plane to a stage.
//
// Every producer of work enters Commit: the event plane's batch of changes
// (new trail records), schedule firings, and replays (matches over existing
// trail rows). Commit reads top to bottom:
//   records = trail.Append(txn, changes)       (new change records)
//   matches = router.Route(records) + firings + replays   (pure)
//   runner.Enqueue(txn, matches); scheduler.Record(txn, firings)
//   txn.Commit()                                (one fsync)
//   runner.OnDurable()                          (the targets start)
// so nothing acts on a change before its record, its invocations and the
// schedule's "fired" state are durable together, and a failed commit loses
// none of them (the plane rescans, the firing stays due).
//
// Thread-safety: one thread (the main loop) calls everything.
#ifndef BUCKETD_DAEMON_MANAGER_H_
#define BUCKETD_DAEMON_MANAGER_H_

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.h"
#include "common/status.h"
#include "daemon/daemon.h"
#include "events/event_plane.h"
#include "events/trail.h"
#include "events/watcher.h"
#include "rules/router.h"
#include "rules/scheduler.h"
#include "runner/runner.h"

namespace bucketd::daemon {

class ControlServer;

// The modules the manager drives; all outlive it.
struct ManagerParts {
  Env& env;
  const Config& config;
  events::Trail& trail;
  events::Watcher& watcher;
  events::EventPlane& plane;
  rules::Router& router;
  rules::Scheduler& scheduler;
  runner::Runner& runner;
  store::Store& store;  // where a function's Code.S3Bucket package is read
  events::TrailIdentity identity;
  std::string trail_location;  // "s3://bucket/prefix" for the start line
};

// An asynchronous invocation by hand (Lambda's Invoke, type Event).
struct DirectInvoke {
  std::string function;
  std::string payload;
  std::string request_id;
};

// What one unit of work commits. Each part may be empty.
struct Work {
  std::vector<events::ObjectChange> changes;  // become new trail records, then are routed
  std::vector<rules::Firing> firings;         // schedule rules due now
  std::vector<rules::Match> matches;          // made already (replays of existing records)
  std::vector<DirectInvoke> invokes;
};

// Lambda's Invoke request, from `bucketctl lambda invoke` or the endpoint.
struct InvokeRequest {
  std::string function;  // a name or a function ARN
  std::string type = "RequestResponse";  // | Event | DryRun
  std::string payload;   // JSON text; empty: {}
};

class Manager {
 public:
  explicit Manager(ManagerParts parts);

  // Loads rules and functions, recovers the runner, starts watching and
  // commits the startup catch-up and the firings missed while down.
  Status Start();
  // The main loop, until SIGTERM/SIGINT (read from `signal_fd`). Tells
  // systemd READY=1 before it starts and STOPPING=1 when it ends.
  Status Run(int signal_fd, ControlServer& control);

  // The unit of work. An error (e.g. disk full) means nothing of `work`
  // was committed and nothing of it started.
  Status Commit(Work work);

  // Re-reads rules.d and functions.d (telling systemd RELOADING=1, then
  // READY=1); on error the running ones stay and the error is logged.
  Status Reload();
  // EventBridge replay: the trail's records in [from_ns, to_ns) go to one
  // rule's targets again. Returns {"records", "invocations", "name"}.
  Result<nlohmann::json> Replay(const std::string& rule, int64_t from_ns, int64_t to_ns,
                                const std::string& name);
  // Lambda's Invoke (daemon/lambda_invoke.cc). Event: queued durably, then
  // {"StatusCode": 202, "RequestId"}; DryRun: {"StatusCode": 204};
  // RequestResponse: started, {"RequestId", "pending": true}, and `done` is
  // called with its answer on this thread. NotFound for an unknown function
  // (ResourceNotFoundException), InvalidArgument for a payload that is not
  // JSON or a type that is none of the three.
  Result<nlohmann::json> Invoke(const InvokeRequest& request, runner::SyncDone done);
  // Invoke of many Events (type "Event" each) as one unit of work: one
  // commit makes them all durable; an answer per request, in order.
  std::vector<Result<nlohmann::json>> InvokeEvents(const std::vector<InvokeRequest>& requests);
  // The control socket's RequestResponse: its answer is kept here until
  // asked for ({"pending": true} until then; NotFound for an unknown id).
  Result<nlohmann::json> InvokeForControl(const InvokeRequest& request);
  Result<nlohmann::json> InvokeResult(const std::string& request_id);
  // Lambda's UpdateFunctionCode (daemon/function_code.cc): takes the
  // function's package again from where its file's Code names it (a
  // Code.Directory's files as they are now); the function's environments
  // serve no more invocations. `bucket`/`key`, when given, must be the
  // file's. Returns GetFunctionConfiguration's shape; on error the function
  // keeps the code it had.
  Result<nlohmann::json> UpdateFunctionCode(const std::string& function, const std::string& bucket,
                                            const std::string& key);
  // `on_ready` runs on the loop's thread whenever `fd` is readable (the
  // endpoint's Invoke bridge). Before Run.
  void AddWakeFd(int fd, std::function<void()> on_ready) { wakes_.push_back({fd, std::move(on_ready)}); }
  // The control socket's "status" answer.
  nlohmann::json StatusAnswer() const;
  std::string StatusLine(double events_per_second = -1) const;

  runner::Runner& runner() { return runner_; }
  const rules::Router& router() const { return router_; }

 private:
  // Takes the plane's batch into a unit of work.
  void CommitChanges();
  void FireDue();
  // Loads rules.d and functions.d and swaps both in when both are good.
  Status LoadConfig();
  // The name of the loaded function `name_or_arn` names; NotFound in
  // Lambda's words ("Function not found: <arn>") otherwise.
  Result<std::string> LoadedFunctionName(const std::string& name_or_arn) const;
  // The loaded function an Invoke names, and its payload ("{}" when empty);
  // NotFound or InvalidArgument as Invoke answers them.
  Result<std::string> InvokedFunction(const InvokeRequest& request, std::string* payload) const;
  // GetFunctionConfiguration's shape of a loaded function.
  nlohmann::json FunctionConfiguration(const runner::Function& fn) const;
  void Shutdown();

  Env& env_;
  const Config& config_;
  events::Trail& trail_;
  events::Watcher& watcher_;
  events::EventPlane& plane_;
  rules::Router& router_;
  rules::Scheduler& scheduler_;
  runner::Runner& runner_;
  store::Store& store_;
  events::TrailIdentity identity_;
  std::string trail_location_;
  // Test hook (BUCKETD_TEST_HOOKS=1 and BUCKETD_TEST_KILL_BEFORE_COMMIT=
  // schedule): bucketd kills itself inside a unit of work with firings,
  // before its commit, so a test can show the firing is not lost.
  bool kill_before_schedule_commit_ = false;
  // RequestResponse answers for the control socket, by request id (an
  // absent one is still running); at most kKeptAnswers, oldest dropped.
  struct KeptAnswer {
    std::optional<runner::SyncAnswer> answer;
    std::list<std::string>::iterator order;  // its place in answer_order_
  };
  std::unordered_map<std::string, KeptAnswer> answers_;
  std::list<std::string> answer_order_;  // oldest first
  std::vector<std::pair<int, std::function<void()>>> wakes_;
};

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_MANAGER_H_
