// Invocations: one (rule, target, event), and the durable queue that holds
// them, in the trail's SQLite database.
//
// Why there: an invocation must exist before the event that caused it is
// acknowledged, and the trail's append transaction is that acknowledgement.
// Inserting invocations in the same transaction (EventSink::Persist) makes
// record and invocation durable together with one group-committed fsync, so
// the queue adds no fsync to the path from a file to its target, and a crash
// can leave neither a record without its invocations nor the reverse. WAL
// mode lets bucketctl read runs while bucketd writes.
//
// States: pending -> running -> succeeded, or -> failed (an attempt failed;
// waits for its retry at next_ns, then running again) -> ... -> dead (out of
// attempts or event age, or a permanent error). Format: docs/runner.md.
//
// Thread-safety: one thread (the daemon's main loop) per InvocationStore.
#ifndef BUCKETD_RUNNER_INVOCATION_H_
#define BUCKETD_RUNNER_INVOCATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite_db.h"
#include "common/status.h"

namespace bucketd::runner {

enum class State { kPending, kRunning, kSucceeded, kFailed, kDead };
std::string_view StateName(State s);
std::optional<State> ParseState(std::string_view name);
inline bool IsTerminal(State s) { return s == State::kSucceeded || s == State::kDead; }

struct Invocation {
  int64_t n = 0;            // queue order (insertion)
  std::string id;           // stable; [0-9a-f], also a file name
  std::string rule;
  std::string target;       // the target's Id
  std::string function;     // "" when the ARN names no local function
  std::string arn;
  std::string bucket, key;  // the object the event is about ("" for schedules)
  std::string event_id;
  int64_t trail_seq = 0;
  std::string event_json;
  std::string input;        // the target's input (final)
  std::string input_error;  // why there is no input (the invocation cannot run)
  int64_t created_ns = 0;
  int64_t age_base_ns = 0;  // event age counts from here (the event, or a redrive)
  int max_retries = 185;
  int max_age_seconds = 86400;
  std::string dead_letter;  // DeadLetterConfig.Arn
  std::string chain;        // id of the first invocation of the chain
  int hop = 1;              // invocations in the chain up to this one
  std::string replay;       // replay name, or ""
  std::string origin;       // "event", "schedule", "replay", "destination", "invoke"
  State state = State::kPending;
  int attempts = 0;         // attempts started
  int retry_base = 0;       // attempts before the last redrive
  int64_t next_ns = 0;      // earliest start (backoff)
  int64_t started_ns = 0;   // of the latest attempt
  int64_t finished_ns = 0;
  std::string error;        // the latest attempt's error
  std::string response;     // the latest attempt's answer (not stored: for its destination)
  // The lane: invocations of one target for one key run in queue order.
  // Lambda's asynchronous invocations by hand keep no order: a lane each.
  std::string Lane() const {
    return rule + '\0' + target + '\0' + bucket + '\0' + (origin == "invoke" ? id : key);
  }
};

struct AttemptRecord {
  std::string id;
  int attempt = 0;
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  std::string outcome;  // "succeeded", "failed", "timed out", "interrupted", "cancelled"
  std::string error;
};

struct RunQuery {
  std::string rule;                // "" any
  std::optional<State> state;
  int64_t since_ns = 0;            // created at or after
  std::string id;                  // exact ("" any)
  int limit = 100;                 // newest first
  int64_t before_n = 0;            // only rows numbered below this (0: any), for paging
};

class InvocationStore {
 public:
  // Creates the tables when missing (write mode only).
  static Status CreateTables(SqliteDb& db);
  explicit InvocationStore(SqliteDb& db) : db_(db) {}

  // INSERT OR IGNORE: an id already queued is the same invocation.
  Status Insert(const Invocation& inv);
  // Rows with n greater than `after`, in order.
  Result<std::vector<Invocation>> LoadAfter(int64_t after, int limit);
  // Every invocation not succeeded or dead, in order.
  Result<std::vector<Invocation>> LoadActive();
  Result<std::optional<Invocation>> Get(const std::string& id);
  Result<std::vector<Invocation>> Find(const RunQuery& q);
  // Writes the mutable fields (state, attempts, times, error).
  Status UpdateState(const Invocation& inv);
  Status AddAttempt(const AttemptRecord& a);
  Result<std::vector<AttemptRecord>> Attempts(const std::string& id);

  // The database, for the transactions its writes go in.
  SqliteDb& db() { return db_; }

 private:
  Result<std::vector<Invocation>> Read(SqliteStatement& q);
  SqliteDb& db_;
};

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_INVOCATION_H_
