// Lambda's UpdateFunctionCode and GetFunctionConfiguration on the manager's
// thread. A function's code location is its file's (functions.d is the
// administrator's); what changes is what bucketd took from there.
#include <spdlog/spdlog.h>

#include "common/time_format.h"
#include "daemon/manager.h"
#include "runner/code_package.h"

namespace bucketd::daemon {

nlohmann::json Manager::FunctionConfiguration(const runner::Function& fn) const {
  std::string arn_prefix = "arn:aws:lambda:" + identity_.region + ":" + identity_.account + ":function:";
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : fn.layers) layers.push_back({{"Arn", l}});
  nlohmann::json j = {{"FunctionName", fn.name},
                      {"FunctionArn", arn_prefix + fn.name},
                      {"Runtime", fn.runtime_name},
                      {"Handler", fn.handler},
                      {"Timeout", fn.timeout_seconds},
                      {"MemorySize", fn.memory_mb},
                      {"Version", "$LATEST"},
                      {"PackageType", "Zip"},
                      {"CodeSize", fn.code_size},
                      {"Layers", layers},
                      {"State", fn.code_error.empty() ? "Active" : "Failed"},
                      {"LastUpdateStatus", fn.code_error.empty() ? "Successful" : "Failed"}};
  if (!fn.role.empty()) j["Role"] = fn.role;
  if (!fn.code_sha256.empty()) j["CodeSha256"] = fn.code_sha256;
  if (!fn.code_error.empty()) j["StateReason"] = fn.code_error;
  if (!fn.environment.empty()) j["Environment"] = {{"Variables", fn.environment}};
  return j;
}

Result<nlohmann::json> Manager::UpdateFunctionCode(const std::string& function, const std::string& bucket,
                                                   const std::string& key) {
  ASSIGN_OR_RETURN(std::string name, LoadedFunctionName(function));
  std::shared_ptr<const runner::FunctionSet> loaded = runner_.functions();
  runner::Function fn = loaded->at(name);
  if (!runner::IsLambdaRuntime(fn.runtime)) {
    return Status::InvalidArgument("function " + name + " is a " + fn.runtime_name +
                                   " function: its code is its Handler, which every run starts anew");
  }
  if ((!bucket.empty() && bucket != fn.code_s3_bucket) || (!key.empty() && key != fn.code_s3_key)) {
    std::string named = fn.code_s3_bucket.empty() ? "no bucket" : "s3://" + fn.code_s3_bucket + "/" + fn.code_s3_key;
    return Status::InvalidArgument("function " + name + "'s file " + fn.source + " names " + named +
                                   " in /Code; bucketd takes a function's code from where its file says (change "
                                   "the file and reload to move it)");
  }
  fn.code_error.clear();
  RETURN_IF_ERROR(runner::ResolveCode(store_, config_.state_dir, &fn));
  RETURN_IF_ERROR(runner::CheckLambdaCode(fn));
  ++fn.code_revision;
  auto functions = std::make_shared<runner::FunctionSet>(*loaded);
  (*functions)[name] = fn;
  runner_.SetFunctions(std::move(functions));
  spdlog::info("function {}: code updated (revision {}{}{})", name, fn.code_revision,
               fn.code_sha256.empty() ? "" : ", CodeSha256 ", fn.code_sha256);
  nlohmann::json answer = FunctionConfiguration(fn);
  answer["LastModified"] = FormatUtc(env_.clock().NowNanos(), "%Y-%m-%dT%H:%M:%S.000+0000");
  return answer;
}

}  // namespace bucketd::daemon
