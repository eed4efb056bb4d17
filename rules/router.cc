#include "rules/router.h"

namespace bucketd::rules {

void Router::OnRecords(const std::vector<events::TrailRecord>& records) {
  if (!rules_ || !rules_->has_patterns()) return;  // spare rendering events nobody matches
  for (const auto& r : records) {
    for (const auto& event : events::EventBridgeEvents(r, identity_)) {
      FlatEvent flat = FlatEvent::FromJson(event);
      for (size_t i : rules_->Match(flat)) {
        const Rule& rule = rules_->rules()[i];
        for (const Target& t : rule.targets) {
          Match m{&rule, &t, &r, event.dump(), std::string()};
          m.input = TargetInput(t, event, rule.name, rule.Arn(identity_.region, identity_.account),
                                env_.clock().NowNanos());
          on_match_(m);
        }
      }
    }
  }
}

void Router::Fire(const Rule& rule, const nlohmann::json& event) {
  for (const Target& t : rule.targets) {
    Match m{&rule, &t, nullptr, event.dump(), std::string()};
    m.input = TargetInput(t, event, rule.name, rule.Arn(identity_.region, identity_.account),
                          env_.clock().NowNanos());
    on_match_(m);
  }
}

}  // namespace bucketd::rules
