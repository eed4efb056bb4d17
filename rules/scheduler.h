// Fires schedule rules (ScheduleExpression) as AWS's "Scheduled Event".
//
// Each schedule rule's anchor (when it was first seen: rate schedules count
// from it) and last firing are rows of the state database. A firing is
// written by the caller's unit of work in the same transaction as the
// invocations it causes (Record), so a crash or a failed commit loses
// neither: either both are durable or the firing is still due. A firing
// missed while bucketd was down runs once at the next start when
// `persistent` (like systemd's Persistent=), never once per missed slot.
//
// Thread-safety: one thread.
#ifndef BUCKETD_RULES_SCHEDULER_H_
#define BUCKETD_RULES_SCHEDULER_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/env.h"
#include "common/sqlite_db.h"
#include "events/records.h"
#include "rules/rule_set.h"

namespace bucketd::rules {

// {"version":"0","id":…,"detail-type":"Scheduled Event","source":"aws.events",
//  "account":…,"time":…,"region":…,"resources":[rule ARN],"detail":{}}
nlohmann::json ScheduledEvent(const Rule& rule, int64_t fire_ns, const events::TrailIdentity& id);

// A schedule rule due now, with the event it fires.
struct Firing {
  const Rule* rule;
  nlohmann::json event;
  int64_t fired_ns;  // when it was found due (the state's "last firing")
};

class Scheduler {
 public:
  // `db` is the state database (the trail's); it outlives the scheduler.
  Scheduler(Env& env, SqliteDb& db, events::TrailIdentity identity, bool persistent);

  // Creates the table when missing and reads the state. A schedules.json of
  // an earlier bucketd at `legacy_file` is taken over once (its rows are
  // imported, then the file is removed).
  Status Load(const std::string& legacy_file = "");
  // Takes the rule set's schedule rules; rules seen for the first time are
  // anchored now (durably, in a transaction of its own).
  Status SetRules(std::shared_ptr<const RuleSet> rules);
  // The rules due at the clock's now, each at most once, with their events.
  // Changes nothing: a firing counts once Record's transaction commits.
  std::vector<Firing> Due() const;
  // Writes the firings as the rules' last ones, inside the caller's
  // transaction (the one that queues their invocations).
  Status Record(Transaction& txn, const std::vector<Firing>& firings);
  // After Record's transaction committed: the firings are no longer due.
  void Fired(const std::vector<Firing>& firings);
  // Nanoseconds until the next firing (INT64_MAX when none).
  int64_t NanosUntilNext() const;

 private:
  struct State {
    int64_t anchor_ns = 0;
    int64_t last_ns = 0;  // 0: never fired
  };
  int64_t NextFor(const Rule& r, const State& s) const;
  Status ImportLegacy(const std::string& file);

  Env& env_;
  SqliteDb& db_;
  events::TrailIdentity identity_;
  bool persistent_;
  std::shared_ptr<const RuleSet> rules_;
  std::map<std::string, State> state_;  // by rule name
  int64_t started_ns_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_SCHEDULER_H_
