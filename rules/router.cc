#include "rules/router.h"

#include "events/s3_event_message.h"

namespace bucketd::rules {

const Rule* Router::FindRule(const std::string& name) const {
  if (!rules_) return nullptr;
  for (const auto& r : rules_->rules()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

void Router::ToTargets(const Rule& rule, const events::TrailRecord* record, const nlohmann::json& event,
                       const std::string& replay_name, int64_t now_ns, std::vector<Match>* out) const {
  for (const Target& t : rule.targets) {
    Match m{&rule, &t, record, event.dump(), event.value("id", ""), std::string(), replay_name};
    if (t.s3_configuration_id && record != nullptr) {
      m.input = events::S3EventMessage(*record, identity_, *t.s3_configuration_id).dump();
    } else {
      m.input = TargetInput(t, event, rule.name, rule.Arn(identity_.region, identity_.account), now_ns);
    }
    out->push_back(std::move(m));
  }
}

std::vector<Match> Router::Route(const std::vector<events::TrailRecord>& records, int64_t now_ns) const {
  std::vector<Match> out;
  if (!rules_ || !rules_->has_patterns()) return out;  // spare rendering events nobody matches
  for (const auto& r : records) {
    for (const auto& event : events::EventBridgeEvents(r, identity_)) {
      FlatEvent flat = FlatEvent::FromJson(event, &rules_->paths());
      for (size_t i : rules_->Match(flat)) ToTargets(rules_->rules()[i], &r, event, "", now_ns, &out);
    }
  }
  return out;
}

std::vector<Match> Router::Fire(const Rule& rule, const nlohmann::json& event, int64_t now_ns) const {
  std::vector<Match> out;
  ToTargets(rule, nullptr, event, "", now_ns, &out);
  return out;
}

std::vector<Match> Router::Replay(const std::vector<events::TrailRecord>& records, const Rule& rule,
                                  const std::string& replay_name, int64_t now_ns) const {
  std::vector<Match> out;
  if (!rule.pattern) return out;
  FieldPaths paths = PathsOf(*rule.pattern);
  for (const auto& r : records) {
    for (auto event : events::EventBridgeEvents(r, identity_)) {
      if (!Matches(*rule.pattern, FlatEvent::FromJson(event, &paths))) continue;
      event["replay-name"] = replay_name;  // as EventBridge marks replayed events
      ToTargets(rule, &r, event, replay_name, now_ns, &out);
    }
  }
  return out;
}

}  // namespace bucketd::rules
