// Reading a built-in stage's target input: the JSON itself, the object it is
// about, and typed options with errors that name the field and what was
// expected.
#ifndef BUCKETD_STAGES_STAGE_INPUT_H_
#define BUCKETD_STAGES_STAGE_INPUT_H_

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace bucketd::stages {

Result<nlohmann::json> ParseStageInput(const std::string& input);

struct ObjectRef {
  std::string bucket, key;
};
// The object an input is about: {"bucket": …, "key": …}, an EventBridge
// "Object Created" event (detail.bucket.name, detail.object.key), or a
// CloudTrail-shaped one (detail.requestParameters.bucketName / key).
Result<ObjectRef> ObjectFromInput(const nlohmann::json& input);

// input[name] when present (else `fallback`); InvalidArgument when it has
// another type.
Result<std::string> StringOption(const nlohmann::json& input, const char* name, std::string fallback);
Result<double> NumberOption(const nlohmann::json& input, const char* name, double fallback);
Result<int64_t> IntOption(const nlohmann::json& input, const char* name, int64_t fallback);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_STAGE_INPUT_H_
