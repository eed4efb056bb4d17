// `bucketctl lambda …`, in the words and output of `aws lambda`. invoke:
// Lambda's Invoke through the running bucketd; the payload goes over the
// control socket (so at most ~60 KB); a RequestResponse answer is asked for
// until the function returns (bucketd keeps it, it records nothing).
// update-function-code: the running bucketd takes the function's package
// again. publish-layer-version and list-layer-versions: the layers in the
// state directory (runner/layers.h), with or without a running bucketd.
#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/file_util.h"
#include "iam/iam_store.h"
#include "runner/code_package.h"
#include "runner/layers.h"

namespace bucketd::cli {

namespace {

struct InvokeFlags {
  std::string function, payload, type = "RequestResponse", log_type = "None", outfile;
};

Status LambdaError(const char* code, const char* operation, const Status& s) {
  return Status(s.code(), std::string("An error occurred (") + code + ") when calling the " + operation +
                              " operation: " + s.message());
}

// The control socket's refusal of `operation`, as the status it stands for
// in aws's words; `otherwise` names what is neither a missing function nor a
// throttle.
Status Refused(const nlohmann::json& answer, const char* operation, const char* otherwise) {
  std::string error = answer.value("error", std::string("bucketd refused the request"));
  if (error.rfind("Function not found", 0) == 0) {
    return LambdaError("ResourceNotFoundException", operation, Status::NotFound(error));
  }
  if (error.rfind("Rate Exceeded", 0) == 0) {
    return LambdaError("TooManyRequestsException", operation, Status::ResourceExhausted(error));
  }
  return LambdaError(otherwise, operation, Status::InvalidArgument(error));
}

Result<nlohmann::json> Invoke(Context& ctx, const InvokeFlags& f) {
  std::string payload = f.payload;
  for (const char* scheme : {"file://", "fileb://"}) {
    if (payload.rfind(scheme, 0) == 0) {
      ASSIGN_OR_RETURN(payload, ReadFileToString(ctx.env().fs(), AT_FDCWD, payload.substr(std::strlen(scheme))));
    }
  }
  ASSIGN_OR_RETURN(nlohmann::json answer, ctx.Control({{"command", "invoke"},
                                                      {"function", f.function},
                                                      {"type", f.type},
                                                      {"payload", payload}}));
  if (!answer.value("ok", false)) return Refused(answer, "Invoke", "InvalidRequestContentException");
  if (!answer.value("pending", false)) return answer;
  std::string id = answer.value("RequestId", "");
  // Polled: the control socket answers one line per request, and a
  // function may run for its whole Timeout.
  for (int asked = 0;; ++asked) {
    ASSIGN_OR_RETURN(answer, ctx.Control({{"command", "invoke-result"}, {"id", id}}));
    if (!answer.value("ok", false)) return Refused(answer, "Invoke", "InvalidRequestContentException");
    if (!answer.value("pending", false)) return answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(asked < 500 ? 2 : 20));
  }
}

// The region and account layer ARNs are printed with: bucketd.json's Trail.
std::pair<std::string, std::string> RegionAndAccount(Context& ctx) {
  auto dir = ctx.ConfigDir();
  if (!dir.ok()) return {"local", iam::kDefaultAccount};
  return {iam::TrailSettingOf(ctx.env(), *dir, "Region", "local"), iam::AccountOf(ctx.env(), *dir)};
}

struct LayerFlags {
  std::string name, zip_file, description;
  std::vector<std::string> runtimes;
};

int PublishLayer(Context& ctx, const LayerFlags& f) {
  constexpr char kOp[] = "PublishLayerVersion";
  if (f.zip_file.rfind("fileb://", 0) != 0) {
    return Context::Fail(LambdaError("InvalidParameterValueException", kOp,
                                     Status::InvalidArgument("--zip-file: expected fileb://LAYER.zip")));
  }
  std::string path = f.zip_file.substr(8);
  auto state_dir = ctx.StateDir();
  if (!state_dir.ok()) return Context::Fail(state_dir.status());
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Context::Fail(Status::FromErrno("--zip-file " + path, errno));
  auto zip = runner::ReadPackage(fd.get(), path);
  if (!zip.ok()) return Context::Fail(LambdaError("InvalidParameterValueException", kOp, zip.status()));
  auto v = runner::PublishLayerVersion(ctx.env(), *state_dir, f.name, *zip, path, f.description, f.runtimes);
  if (!v.ok()) return Context::Fail(LambdaError("InvalidParameterValueException", kOp, v.status()));
  auto [region, account] = RegionAndAccount(ctx);
  std::printf("%s\n", runner::LayerVersionJson(*v, region, account).dump(4).c_str());
  return 0;
}

int ListLayerVersions(Context& ctx, const std::string& name) {
  auto state_dir = ctx.StateDir();
  if (!state_dir.ok()) return Context::Fail(state_dir.status());
  auto versions = runner::ListLayerVersions(ctx.env(), *state_dir, name);
  if (!versions.ok()) return Context::Fail(versions.status());
  auto [region, account] = RegionAndAccount(ctx);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : *versions) {
    nlohmann::json j = runner::LayerVersionJson(v, region, account);
    j.erase("Content");
    j.erase("LayerArn");
    list.push_back(j);
  }
  std::printf("%s\n", nlohmann::json{{"LayerVersions", list}}.dump(4).c_str());
  return 0;
}

struct CodeFlags {
  std::string function, bucket, key;
};

int UpdateFunctionCode(Context& ctx, const CodeFlags& f) {
  auto answer = ctx.Control({{"command", "update-function-code"}, {"function", f.function}, {"bucket", f.bucket},
                             {"key", f.key}});
  if (!answer.ok()) return Context::Fail(answer.status());
  if (!answer->value("ok", false)) {
    return Context::Fail(Refused(*answer, "UpdateFunctionCode", "InvalidParameterValueException"));
  }
  answer->erase("ok");
  std::printf("%s\n", answer->dump(4).c_str());
  return 0;
}

}  // namespace

std::vector<Command> LambdaCommands() {
  return {{"publish-layer-version", "publish a zip as a layer's next version (as aws lambda publish-layer-version)",
           [](CLI::App* app) {
             auto f = std::make_shared<LayerFlags>();
             app->add_option("--layer-name", f->name, "the layer's name")->required();
             app->add_option("--zip-file", f->zip_file, "fileb://LAYER.zip")->required();
             app->add_option("--description", f->description, "what the version holds");
             app->add_option("--compatible-runtimes", f->runtimes, "runtimes it is for (recorded)");
             return std::function<int(Context&)>([f](Context& ctx) { return PublishLayer(ctx, *f); });
           }},
          {"list-layer-versions", "a layer's published versions, newest first", [](CLI::App* app) {
             auto name = std::make_shared<std::string>();
             app->add_option("--layer-name", *name, "the layer's name")->required();
             return std::function<int(Context&)>([name](Context& ctx) { return ListLayerVersions(ctx, *name); });
           }},
          {"update-function-code", "the running bucketd takes the function's package again from its Code",
           [](CLI::App* app) {
             auto f = std::make_shared<CodeFlags>();
             app->add_option("--function-name", f->function, "the function's name or ARN")->required();
             app->add_option("--s3-bucket", f->bucket, "the bucket its file's Code names (checked)");
             app->add_option("--s3-key", f->key, "the key its file's Code names (checked)");
             return std::function<int(Context&)>([f](Context& ctx) { return UpdateFunctionCode(ctx, *f); });
           }},
          {"invoke", "invoke a function (as aws lambda invoke): its answer goes to OUTFILE",
           [](CLI::App* app) {
             auto f = std::make_shared<InvokeFlags>();
             app->add_option("--function-name", f->function, "the function's name or ARN")->required();
             app->add_option("--payload", f->payload, "the event: JSON text, or file://F");
             app->add_option("--invocation-type", f->type, "RequestResponse (default), Event or DryRun")
                 ->check(CLI::IsMember({"RequestResponse", "Event", "DryRun"}));
             app->add_option("--log-type", f->log_type, "Tail: the last 4 KB of its log in LogResult (base64)")
                 ->check(CLI::IsMember({"None", "Tail"}));
             app->add_option("outfile", f->outfile, "where the function's answer is written")->required();
             return std::function<int(Context&)>([f](Context& ctx) {
               auto answer = Invoke(ctx, *f);
               if (!answer.ok()) return Context::Fail(answer.status());
               nlohmann::json out = {{"StatusCode", (*answer)["StatusCode"]}};
               if (answer->contains("FunctionError")) out["FunctionError"] = (*answer)["FunctionError"];
               if (f->log_type == "Tail" && answer->contains("LogResult")) out["LogResult"] = (*answer)["LogResult"];
               if (answer->contains("ExecutedVersion")) out["ExecutedVersion"] = (*answer)["ExecutedVersion"];
               std::string payload = answer->value("Payload", "");
               std::string dir = f->outfile.find('/') == std::string::npos ? "." : f->outfile.substr(0, f->outfile.rfind('/'));
               std::string name = f->outfile.substr(f->outfile.rfind('/') + 1);
               if (f->outfile == "-") {
                 std::fputs(payload.c_str(), stdout);
               } else if (Status w = WriteFileAtomically(ctx.env().fs(), dir.empty() ? "/" : dir, name, payload, 0644);
                          !w.ok()) {
                 return Context::Fail(w);
               }
               std::printf("%s\n", out.dump(4).c_str());
               return 0;
             });
           }}};
}

}  // namespace bucketd::cli
