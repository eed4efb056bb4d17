#include "rules/router.h"

namespace bucketd::rules {

Status Router::ToTargets(const Rule& rule, const events::TrailRecord* record,
                         const nlohmann::json& event, const std::string& replay_name) {
  for (const Target& t : rule.targets) {
    Match m{&rule, &t, record, event.dump(), event.value("id", ""), std::string(), replay_name};
    m.input = TargetInput(t, event, rule.name, rule.Arn(identity_.region, identity_.account),
                          env_.clock().NowNanos());
    RETURN_IF_ERROR(on_match_(m));
  }
  return Status::OK();
}

Status Router::Persist(const std::vector<events::TrailRecord>& records) {
  if (!rules_ || !rules_->has_patterns()) return Status::OK();  // spare rendering events nobody matches
  for (const auto& r : records) {
    for (const auto& event : events::EventBridgeEvents(r, identity_)) {
      FlatEvent flat = FlatEvent::FromJson(event);
      for (size_t i : rules_->Match(flat)) {
        RETURN_IF_ERROR(ToTargets(rules_->rules()[i], &r, event, ""));
      }
    }
  }
  if (hooks_.persisted) hooks_.persisted();
  return Status::OK();
}

Status Router::Fire(const Rule& rule, const nlohmann::json& event) {
  return ToTargets(rule, nullptr, event, "");
}

Result<int> Router::Replay(const std::vector<events::TrailRecord>& records, const Rule& rule,
                           const std::string& replay_name) {
  if (!rule.pattern) return 0;
  int matches = 0;
  for (const auto& r : records) {
    for (auto event : events::EventBridgeEvents(r, identity_)) {
      if (!Matches(*rule.pattern, FlatEvent::FromJson(event))) continue;
      event["replay-name"] = replay_name;  // as EventBridge marks replayed events
      RETURN_IF_ERROR(ToTargets(rule, &r, event, replay_name));
      matches += static_cast<int>(rule.targets.size());
    }
  }
  return matches;
}

}  // namespace bucketd::rules
