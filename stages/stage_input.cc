#include "stages/stage_input.h"

#include <utility>
#include <vector>

namespace bucketd::stages {
namespace {

using JsonPath = std::vector<const char*>;

const nlohmann::json* Path(const nlohmann::json& j, const JsonPath& path) {
  const nlohmann::json* at = &j;
  for (const char* p : path) {
    if (!at->is_object() || !at->contains(p)) return nullptr;
    at = &(*at)[p];
  }
  return at->is_string() ? at : nullptr;
}

}  // namespace

Result<nlohmann::json> ParseStageInput(const std::string& input) {
  auto j = nlohmann::json::parse(input, nullptr, false);
  if (j.is_discarded()) return Status::InvalidArgument("the target input is not JSON");
  if (!j.is_object()) return Status::InvalidArgument("the target input is not a JSON object");
  return j;
}

Result<ObjectRef> ObjectFromInput(const nlohmann::json& in) {
  static const std::pair<JsonPath, JsonPath> kShapes[] = {
      {{"bucket"}, {"key"}},
      {{"detail", "bucket", "name"}, {"detail", "object", "key"}},
      {{"detail", "requestParameters", "bucketName"}, {"detail", "requestParameters", "key"}}};
  for (const auto& [b, k] : kShapes) {
    const auto* bucket = Path(in, b);
    const auto* key = Path(in, k);
    if (bucket && key) return ObjectRef{bucket->get<std::string>(), key->get<std::string>()};
  }
  return Status::InvalidArgument(
      "the target input names no object: expected {\"bucket\", \"key\"}, an \"Object Created\" event "
      "(detail.bucket.name, detail.object.key) or a CloudTrail event (detail.requestParameters)");
}

Result<std::string> StringOption(const nlohmann::json& in, const char* name, std::string fallback) {
  if (!in.contains(name)) return fallback;
  if (!in[name].is_string()) {
    return Status::InvalidArgument(std::string("input field \"") + name + "\": expected a string");
  }
  return in[name].get<std::string>();
}

Result<double> NumberOption(const nlohmann::json& in, const char* name, double fallback) {
  if (!in.contains(name)) return fallback;
  if (!in[name].is_number()) {
    return Status::InvalidArgument(std::string("input field \"") + name + "\": expected a number");
  }
  return in[name].get<double>();
}

Result<bool> BoolOption(const nlohmann::json& in, const char* name, bool fallback) {
  if (!in.contains(name)) return fallback;
  if (!in[name].is_boolean()) {
    return Status::InvalidArgument(std::string("input field \"") + name + "\": expected true or false");
  }
  return in[name].get<bool>();
}

Result<int64_t> IntOption(const nlohmann::json& in, const char* name, int64_t fallback) {
  if (!in.contains(name)) return fallback;
  if (!in[name].is_number_integer()) {
    return Status::InvalidArgument(std::string("input field \"") + name + "\": expected an integer");
  }
  return in[name].get<int64_t>();
}

Result<ObjectRef> MarkerFromInput(const nlohmann::json& in, store::Store& store, const std::string& default_bucket,
                                  const std::string& prefix) {
  auto named = ObjectFromInput(in);
  if (named.ok() && named->key.rfind(prefix, 0) == 0) return *named;
  std::string bucket = named.ok() ? named->bucket : default_bucket;
  if (in.contains("bucket") && in["bucket"].is_string()) bucket = in["bucket"].get<std::string>();
  store::ListRequest req;
  req.prefix = prefix;
  std::string newest;
  for (;;) {
    ASSIGN_OR_RETURN(store::ListResult page, store.ListObjectsV2(bucket, req));
    for (const auto& o : page.contents) {
      if (MarkerDate(o.key) > MarkerDate(newest)) newest = o.key;
    }
    if (!page.is_truncated) break;
    req.continuation_token = page.next_continuation_token;
  }
  if (newest.empty()) {
    return Status::NotFound("no marker under s3://" + bucket + "/" + prefix + " to work from (the input names none)");
  }
  return ObjectRef{bucket, newest};
}

Result<MarkerRun> StartFromMarker(runner::StageContext& ctx, const std::string& prefix, const std::string& shape) {
  MarkerRun run;
  ASSIGN_OR_RETURN(run.input, ParseStageInput(ctx.input));
  ASSIGN_OR_RETURN(run.marker, MarkerFromInput(run.input, *ctx.store, "creditsafedata", prefix));
  run.date = MarkerDate(run.marker.key);
  if (run.date.empty()) return Status::InvalidArgument(run.marker.key + ": expected " + shape);
  return run;
}

Result<bool> PutMarker(runner::StageContext& ctx, const std::string& bucket, const std::string& key,
                       const std::string& text) {
  store::PutOptions put = ctx.PutOptions();
  put.content_type = "application/json";
  put.if_none_match = true;
  auto written = ctx.store->PutObjectFromString(bucket, key, text, put);
  if (written.ok()) return true;
  if (written.status().code() == StatusCode::kPreconditionFailed) return false;
  return written.status();
}

bool AlreadyDone(runner::StageContext& ctx, const std::string& bucket, const std::string& key) {
  if (!ctx.store->HeadObject(bucket, key).ok()) return false;
  ctx.log(key + " exists: this work is done; nothing to do");
  return true;
}

std::string MarkerDate(const std::string& key) {
  size_t dot = key.rfind(".json");
  if (dot == std::string::npos || dot < 8) return "";
  std::string d = key.substr(dot - 8, 8);
  for (char c : d) {
    if (c < '0' || c > '9') return "";
  }
  return d;
}

}  // namespace bucketd::stages
