// `bucketctl lambda invoke`: Lambda's Invoke through the running bucketd, in
// the words and output of `aws lambda invoke`. The payload goes over the
// control socket (so at most ~60 KB); a RequestResponse answer is asked for
// until the function returns (bucketd keeps it, it records nothing).
#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/file_util.h"

namespace bucketd::cli {

namespace {

struct InvokeFlags {
  std::string function, payload, type = "RequestResponse", log_type = "None", outfile;
};

// The control socket's refusal, as the status it stands for.
Status Refused(const nlohmann::json& answer) {
  std::string error = answer.value("error", std::string("bucketd refused the request"));
  if (error.rfind("Function not found", 0) == 0) {
    return Status::NotFound("An error occurred (ResourceNotFoundException) when calling the Invoke operation: " +
                            error);
  }
  return Status::InvalidArgument("An error occurred (InvalidRequestContentException) when calling the Invoke "
                                 "operation: " + error);
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
  if (!answer.value("ok", false)) return Refused(answer);
  if (!answer.value("pending", false)) return answer;
  std::string id = answer.value("RequestId", "");
  // Polled: the control socket answers one line per request, and a
  // function may run for its whole Timeout.
  for (int asked = 0;; ++asked) {
    ASSIGN_OR_RETURN(answer, ctx.Control({{"command", "invoke-result"}, {"id", id}}));
    if (!answer.value("ok", false)) return Refused(answer);
    if (!answer.value("pending", false)) return answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(asked < 500 ? 2 : 20));
  }
}

}  // namespace

std::vector<Command> LambdaCommands() {
  return {{"invoke", "invoke a function (as aws lambda invoke): its answer goes to OUTFILE",
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
