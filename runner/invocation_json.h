// Invocations, attempts and run queries as JSON: what the control socket
// carries between bucketd and bucketctl (docs/control.md).
#ifndef BUCKETD_RUNNER_INVOCATION_JSON_H_
#define BUCKETD_RUNNER_INVOCATION_JSON_H_

#include <nlohmann/json.hpp>

#include "runner/invocation.h"

namespace bucketd::runner {

nlohmann::json InvocationToJson(const Invocation& v);
Invocation InvocationFromJson(const nlohmann::json& j);
nlohmann::json AttemptToJson(const AttemptRecord& a);
AttemptRecord AttemptFromJson(const std::string& id, const nlohmann::json& j);
nlohmann::json QueryToJson(const RunQuery& q);
RunQuery QueryFromJson(const nlohmann::json& j);  // limit capped at 10,000

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_INVOCATION_JSON_H_
