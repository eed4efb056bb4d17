// Fires schedule rules (ScheduleExpression) as AWS's "Scheduled Event".
//
// Each schedule rule's anchor (when it was first seen: rate schedules count
// from it) and last firing are kept in a small JSON file in the state
// directory, written atomically. A firing missed while bucketd was down runs
// once at the next start when `persistent` (like systemd's Persistent=),
// never once per missed slot.
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
#include "events/records.h"
#include "rules/rule_set.h"

namespace bucketd::rules {

// {"version":"0","id":…,"detail-type":"Scheduled Event","source":"aws.events",
//  "account":…,"time":…,"region":…,"resources":[rule ARN],"detail":{}}
nlohmann::json ScheduledEvent(const Rule& rule, int64_t fire_ns, const events::TrailIdentity& id);

class Scheduler {
 public:
  Scheduler(Env& env, std::string state_file, events::TrailIdentity identity, bool persistent);

  // Reads the state file (a missing file is an empty state).
  Status Load();
  // Takes the rule set's schedule rules; rules seen for the first time are
  // anchored now.
  Status SetRules(std::shared_ptr<const RuleSet> rules);
  // The (rule, event) pairs due at `now_ns`, each rule at most once, and
  // records them as fired (persisted before returning).
  Result<std::vector<std::pair<const Rule*, nlohmann::json>>> TakeDue();
  // Nanoseconds until the next firing (INT64_MAX when none).
  int64_t NanosUntilNext() const;

 private:
  struct State {
    int64_t anchor_ns = 0;
    int64_t last_ns = 0;  // 0: never fired
  };
  int64_t NextFor(const Rule& r, const State& s) const;
  Status Save();

  Env& env_;
  std::string state_file_;
  events::TrailIdentity identity_;
  bool persistent_;
  std::shared_ptr<const RuleSet> rules_;
  std::map<std::string, State> state_;  // by rule name
  int64_t started_ns_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_SCHEDULER_H_
