// Reading a built-in stage's target input: the JSON itself, the object it is
// about, and typed options with errors that name the field and what was
// expected.
#ifndef BUCKETD_STAGES_STAGE_INPUT_H_
#define BUCKETD_STAGES_STAGE_INPUT_H_

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "runner/builtin.h"
#include "store/store.h"

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
Result<bool> BoolOption(const nlohmann::json& input, const char* name, bool fallback);
Result<int64_t> IntOption(const nlohmann::json& input, const char* name, int64_t fallback);

// The marker a stage works from: the event's object when it lies under
// `prefix`, else (an input without an event, as the seed's constant Input)
// the newest object under `prefix`. NotFound when there is none.
Result<ObjectRef> MarkerFromInput(const nlohmann::json& input, store::Store& store, const std::string& default_bucket,
                                  const std::string& prefix);

// What a stage started by a marker works from: its input, the marker, and
// the marker's YYYYMMDD. `shape` says what a marker's name looks like, for
// the error when it has no date.
struct MarkerRun {
  nlohmann::json input;
  ObjectRef marker;
  std::string date;
};
Result<MarkerRun> StartFromMarker(runner::StageContext& ctx, const std::string& prefix, const std::string& shape);

// Writes a stage's marker last, with a create-only put: true when this call
// wrote it, false when it was there already (a racing invocation did).
Result<bool> PutMarker(runner::StageContext& ctx, const std::string& bucket, const std::string& key,
                       const std::string& text);
// True, with a log line, when `key` (a stage's output marker) exists: the
// stage's work for it is done and it changes nothing.
bool AlreadyDone(runner::StageContext& ctx, const std::string& bucket, const std::string& key);

// "YYYYMMDD" at the end of a marker's name ("…_YYYYMMDD.json"), or empty.
std::string MarkerDate(const std::string& key);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_STAGE_INPUT_H_
