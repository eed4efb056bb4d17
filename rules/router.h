// Routes trail records to rules: each record's two EventBridge events are
// matched against the rule set, and every (rule, target) match is returned
// with the target's input. Routing decides nothing durable and calls nobody:
// the caller that owns the unit of work (daemon/manager.h) queues the
// matches in the transaction that appends the records.
//
// Thread-safety: one thread; SetRules swaps the rule set between calls.
#ifndef BUCKETD_RULES_ROUTER_H_
#define BUCKETD_RULES_ROUTER_H_

#include <memory>
#include <string>
#include <vector>

#include "events/records.h"
#include "rules/rule_set.h"

namespace bucketd::rules {

// One (rule, target, event). The pointers are into the rule set and the
// records the match was made from; they live as long as those do.
struct Match {
  const Rule* rule;
  const Target* target;
  const events::TrailRecord* record;  // null for a scheduled event
  std::string event_json;  // the EventBridge event that matched
  std::string event_id;    // its "id"
  Result<std::string> input = std::string();  // the target's input, or why it has none
  std::string replay_name;  // non-empty when the event is replayed
};

class Router {
 public:
  explicit Router(events::TrailIdentity identity) : identity_(std::move(identity)) {}
  void SetRules(std::shared_ptr<const RuleSet> rules) { rules_ = std::move(rules); }
  const RuleSet* rules() const { return rules_.get(); }
  std::shared_ptr<const RuleSet> shared_rules() const { return rules_; }
  // The rule of that name in force, or null.
  const Rule* FindRule(const std::string& name) const;

  // Every match of the records' events: in record order, then event order
  // (the CloudTrail shape first, as EventBridgeEvents gives them), then rule
  // order.
  // `now_ns` is the events' ingestion time (InputTransformer's
  // <aws.events.event.ingestion-time>).
  std::vector<Match> Route(const std::vector<events::TrailRecord>& records, int64_t now_ns) const;
  // A schedule rule's event, to each of its targets.
  std::vector<Match> Fire(const Rule& rule, const nlohmann::json& event, int64_t now_ns) const;
  // EventBridge replay: the records' events that match `rule` go to its
  // targets again, each event carrying "replay-name".
  std::vector<Match> Replay(const std::vector<events::TrailRecord>& records, const Rule& rule,
                            const std::string& replay_name, int64_t now_ns) const;

 private:
  void ToTargets(const Rule& rule, const events::TrailRecord* record, const nlohmann::json& event,
                 const std::string& replay_name, int64_t now_ns, std::vector<Match>* out) const;
  events::TrailIdentity identity_;
  std::shared_ptr<const RuleSet> rules_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_ROUTER_H_
