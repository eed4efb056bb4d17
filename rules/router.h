// Routes durable trail records to rules: each record's two EventBridge
// events are matched against the rule set, and every (rule, target) match is
// handed on with the target's input. The runner (issue 5) will persist these
// as invocations; until then the daemon logs them.
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
  Result<std::string> input = std::string();  // the target's input, or why it has none
};

class Router : public events::EventSink {
 public:
  Router(Env& env, events::TrailIdentity identity, std::function<void(const Match&)> on_match)
      : env_(env), identity_(std::move(identity)), on_match_(std::move(on_match)) {}
  void SetRules(std::shared_ptr<const RuleSet> rules) { rules_ = std::move(rules); }
  const RuleSet* rules() const { return rules_.get(); }
  void OnRecords(const std::vector<events::TrailRecord>& records) override;
  // Hands a schedule rule's event to each of its targets.
  void Fire(const Rule& rule, const nlohmann::json& event);

 private:
  Env& env_;
  events::TrailIdentity identity_;
  std::function<void(const Match&)> on_match_;
  std::shared_ptr<const RuleSet> rules_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_ROUTER_H_
