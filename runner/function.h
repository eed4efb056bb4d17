// Local functions: what a target's Lambda ARN runs. One file per function in
// <config-dir>/functions.d/*.json, in the shape of Lambda's CreateFunction
// (plus PutFunctionEventInvokeConfig's DestinationConfig):
//
//   {"FunctionName": "RunNotebook", "Runtime": "exec" | "builtin" | "python3.x",
//    "Handler": "/usr/lib/bucketd/run-notebook" | "<built-in stage name>" | "module.function",
//    "Code": {"Directory": "/abs/dir"} | {"ZipFile": "/abs/f.zip"} | {"S3Bucket": "b", "S3Key": "k.zip"}
//    (python), "Layers": ["arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N"],
//    "Role": "arn:aws:iam::ACCOUNT:role/NAME",
//    "Timeout": 900, "MemorySize": 2048, "WorkingDirectory": "/srv/pipeline",
//    "Environment": {"Variables": {"K": "V"}}, "ReservedConcurrentExecutions": 1,
//    "DestinationConfig": {"OnSuccess": {"Destination": "<arn>"},
//                          "OnFailure": {"Destination": "<arn>"}}}
//
// Timeout defaults to Lambda's 3 s. MemorySize (MB): for an exec program a
// cap on its address space (RLIMIT_AS), absent none; for Lambda's runtimes
// (default 128, as Lambda's) a cap on the environment's resident memory,
// its process tree's, looked at every 100 ms and in its peak when it answers
// (runner/process_memory.h): numpy's untouched reservations do not count. A destination is a store prefix
// (arn:aws:s3:::bucket/prefix) or another function (a notifier).
//
// Thread-safety: immutable values once loaded.
#ifndef BUCKETD_RUNNER_FUNCTION_H_
#define BUCKETD_RUNNER_FUNCTION_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "rules/rule.h"

namespace bucketd::runner {

// kPython: Lambda's python3.x runtimes, a handler "module.function" in a
// code directory, run in warm execution environments (runner/lambda_executor.h).
// kNode: nodejs…, a handler "file.export"; kProvided: provided /
// provided.al2023, the code's own executable "bootstrap" speaks the Runtime
// API. The three are Lambda's runtimes: one executor, one path. kJupyter:
// "jupyter", a notebook its event names, run by bucketd's notebook runner
// (runner/runtimes/notebook_runner.py) as a python handler on that path.
enum class Runtime { kExec, kBuiltin, kPython, kNode, kProvided, kJupyter };
inline bool IsLambdaRuntime(Runtime r) {
  return r == Runtime::kPython || r == Runtime::kNode || r == Runtime::kProvided || r == Runtime::kJupyter;
}
// The handler a jupyter function runs: bucketd's, in its runtime directory.
inline constexpr char kNotebookHandler[] = "notebook_runner.handler";

// Where a record goes: a store prefix, or a function to invoke with it.
struct Destination {
  std::string arn;       // as written
  std::string bucket;    // store destination
  std::string prefix;
  std::string function;  // function destination
};

struct Function {
  std::string name;
  Runtime runtime = Runtime::kExec;
  std::string handler;
  int timeout_seconds = 3;
  int memory_mb = 0;  // 0: no cap
  std::string working_directory;
  std::string runtime_name;    // as written ("python3.11")
  std::string code_directory;  // kPython: Code.Directory, the handler's module lives there
  // A package instead (runner/code_package.h): Code.ZipFile, or
  // Code.S3Bucket/S3Key; code_directory is where it is unpacked.
  std::string code_zip_file;
  std::string code_s3_bucket, code_s3_key;
  std::string code_error;  // why its package could not be taken (then it cannot start)
  std::string code_sha256;  // the package's SHA-256, base64 (Lambda's CodeSha256)
  uint64_t code_size = 0;
  // Counted up by `bucketctl lambda update-function-code`: environments of
  // an earlier count are not given more invocations (a Code.Directory's
  // files change in place).
  int code_revision = 0;
  // Layers: layer version ARNs as written, and the directories they were
  // published to (runner/layers.h), in the same order.
  std::vector<std::string> layers;
  std::vector<std::string> layer_directories;
  // "arn:aws:iam::ACCOUNT:role/NAME": a python function's environments get
  // temporary credentials for it (AWS_ACCESS_KEY_ID, …); empty: none.
  std::string role;
  std::map<std::string, std::string> environment;
  std::optional<int> reserved_concurrency;  // 0: the function never runs (throttled)
  // PutFunctionEventInvokeConfig's MaximumRetryAttempts (0-2) and
  // MaximumEventAgeInSeconds (60-21600): they govern the function's errors
  // in its asynchronous invocations. Absent, a Lambda runtime has Lambda's
  // defaults (2, 21600) and an exec or built-in one its target's RetryPolicy.
  std::optional<int> max_retry_attempts;
  std::optional<int> max_event_age_seconds;
  // The retries and age that govern an invocation whose target allows
  // `target_retries` and `target_age`.
  std::pair<int, int> ErrorPolicy(int target_retries, int target_age) const;
  std::optional<Destination> on_success;
  std::optional<Destination> on_failure;
  std::string source;  // the file it came from
};

using FunctionSet = std::map<std::string, Function>;

// "arn:aws:s3:::bucket[/prefix]" or a Lambda function ARN.
Result<Destination> ParseDestination(const std::string& arn);

// Parses one file. `builtins` are the stage names a builtin Handler may
// name. InvalidArgument: "<source>: <pointer or line, column>: <expected>".
Result<Function> ParseFunctionFile(std::string_view text, const std::string& source,
                                   const std::set<std::string>& builtins);

// Every *.json in `dir` (missing: none); a name defined twice is an error.
Result<FunctionSet> LoadFunctionsDir(Env& env, const std::string& dir,
                                     const std::set<std::string>& builtins);

// What a load can tell about a Lambda runtime's code before any event: the
// handler's module (python: MODULE.py or MODULE/__init__.py; node:
// FILE.js/.mjs/.cjs) or the provided runtime's executable bootstrap in the
// code directory. InvalidArgument "<source>: /Handler: …" (or /Code).
Status CheckLambdaCode(const Function& fn);

// "<rule file>: <pointer>: rule R's target names function 'F', which
// functions.d does not define" for each such target.
std::vector<std::string> TargetsWithoutFunctions(const std::vector<rules::Rule>& rules, const FunctionSet& functions);

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_FUNCTION_H_
