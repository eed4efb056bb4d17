#include "runner/builtin.h"

#include "events/records.h"

namespace bucketd::runner {

store::PutOptions StageContext::PutOptions() const {
  store::PutOptions o;
  o.user_metadata[events::kChainMetadata] = chain;
  return o;
}

std::set<std::string> BuiltinRegistry::Names() const {
  std::set<std::string> out;
  for (const auto& [name, stage] : stages_) out.insert(name);
  return out;
}

BuiltinRegistry DefaultBuiltins() {
  BuiltinRegistry r;
  r.Add("noop", [](StageContext&) { return Status::OK(); });
  return r;
}

}  // namespace bucketd::runner
