// Routes durable trail records to rules: each record's two EventBridge
// events are matched against the rule set, and every (rule, target) match is
// handed on with the target's input. Matching happens inside the trail's
// append transaction (EventSink::Persist), so the runner's invocations commit
// with the records that caused them.
//
// Thread-safety: one thread; SetRules swaps the rule set between records.
#ifndef BUCKETD_RULES_ROUTER_H_
#define BUCKETD_RULES_ROUTER_H_

#include <functional>
#include <memory>
#include <string>

#include "common/env.h"
#include "events/event_plane.h"
#include "rules/rule_set.h"

namespace bucketd::rules {

struct Match {
  const Rule* rule;
  const Target* target;
  const events::TrailRecord* record;  // null for a scheduled event
  std::string event_json;  // the EventBridge event that matched
  std::string event_id;    // its "id"
  Result<std::string> input = std::string();  // the target's input, or why it has none
  std::string replay_name;  // non-empty when the event is replayed
};

class Router : public events::EventSink {
 public:
  // `on_match` runs inside the append transaction; its error rolls the
  // records back. The hooks (each may be empty) run after the last match of
  // a batch (still inside), after the commit, and after a rollback.
  using MatchFn = std::function<Status(const Match&)>;
  struct Hooks {
    std::function<void()> persisted, durable, rolled_back;
  };
  Router(Env& env, events::TrailIdentity identity, MatchFn on_match, Hooks hooks = {})
      : env_(env), identity_(std::move(identity)), on_match_(std::move(on_match)),
        hooks_(std::move(hooks)) {}
  void SetRules(std::shared_ptr<const RuleSet> rules) { rules_ = std::move(rules); }
  const RuleSet* rules() const { return rules_.get(); }
  std::shared_ptr<const RuleSet> shared_rules() const { return rules_; }
  Status Persist(const std::vector<events::TrailRecord>& records) override;
  void OnRecords(const std::vector<events::TrailRecord>&) override {
    if (hooks_.durable) hooks_.durable();
  }
  void OnRollback() override {
    if (hooks_.rolled_back) hooks_.rolled_back();
  }
  // Hands a schedule rule's event to each of its targets.
  Status Fire(const Rule& rule, const nlohmann::json& event);
  // EventBridge replay: the records' events that match `rule` go to its
  // targets again, each event carrying "replay-name". Returns the number of
  // matches.
  Result<int> Replay(const std::vector<events::TrailRecord>& records, const Rule& rule,
                     const std::string& replay_name);

 private:
  Status ToTargets(const Rule& rule, const events::TrailRecord* record,
                   const nlohmann::json& event, const std::string& replay_name);
  Env& env_;
  events::TrailIdentity identity_;
  MatchFn on_match_;
  Hooks hooks_;
  std::shared_ptr<const RuleSet> rules_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_ROUTER_H_
