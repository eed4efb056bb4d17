#include "runner/function.h"

#include <cctype>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "common/file_util.h"
#include "rules/json_fields.h"
#include "rules/pattern.h"
#include "rules/rule.h"
#include "store/store.h"

namespace bucketd::runner {

namespace {

constexpr int kMaxTimeoutSeconds = 7 * 24 * 3600;  // stages may train for hours
constexpr size_t kMaxLayers = 5;                    // Lambda's limit
constexpr int kNotebookMemoryMb = 2048;
constexpr int kNotebookTimeoutSeconds = 3600;

bool ValidName(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

bool ValidVariableName(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// arn:aws:iam::<12 digits>:role/[path/]name
bool ValidRoleArn(const std::string& arn) {
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  if (arn.rfind(kPrefix, 0) != 0 || arn.size() < kPrefix.size() + 12 + 7) return false;
  for (size_t i = kPrefix.size(); i < kPrefix.size() + 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(arn[i]))) return false;
  }
  std::string_view rest = std::string_view(arn).substr(kPrefix.size() + 12);
  return rest.rfind(":role/", 0) == 0 && rest.size() > 6 && rest.back() != '/';
}

}  // namespace

std::pair<int, int> Function::ErrorPolicy(int target_retries, int target_age) const {
  bool lambda = IsLambdaRuntime(runtime);
  int retries = max_retry_attempts ? *max_retry_attempts : lambda ? rules::kLambdaAsyncRetries : target_retries;
  int age = max_event_age_seconds ? *max_event_age_seconds : lambda ? rules::kLambdaAsyncMaxAgeSeconds : target_age;
  return {retries, age};
}

Result<Destination> ParseDestination(const std::string& arn) {
  Destination d;
  d.arn = arn;
  constexpr std::string_view kS3 = "arn:aws:s3:::";
  if (arn.rfind(kS3, 0) == 0) {
    std::string rest = arn.substr(kS3.size());
    size_t slash = rest.find('/');
    d.bucket = rest.substr(0, slash);
    d.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    Status s = store::ValidateBucketName(d.bucket);
    if (!s.ok()) return Status::InvalidArgument("'" + arn + "': " + s.message());
    return d;
  }
  d.function = rules::LambdaFunctionName(arn);
  if (d.function.empty()) {
    return Status::InvalidArgument("'" + arn + "' is neither a store prefix (arn:aws:s3:::bucket/prefix) "
                                   "nor a function (arn:aws:lambda:<region>:<account>:function:<Name>)");
  }
  return d;
}

Result<Function> ParseFunctionFile(std::string_view text, const std::string& source,
                                   const std::set<std::string>& builtins) {
  rules::JsonFields f(source);
  ASSIGN_OR_RETURN(nlohmann::json j, rules::ParseJson(text, source));
  if (!j.is_object()) return f.Error("/", "expected a function object (CreateFunction's shape)");
  RETURN_IF_ERROR(f.OnlyKeys(j, "", {"FunctionName", "Description", "Runtime", "Handler", "Code", "Timeout",
                                     "MemorySize", "WorkingDirectory", "Environment", "Role", "Layers",
                                     "MaximumRetryAttempts", "MaximumEventAgeInSeconds",
                                     "ReservedConcurrentExecutions", "DestinationConfig"}));
  Function fn;
  fn.source = source;
  ASSIGN_OR_RETURN(fn.name, f.String(j, "FunctionName", "", true));
  if (!ValidName(fn.name, 64)) {
    return f.Error("/FunctionName", "expected 1 to 64 letters, digits, '-' or '_'");
  }
  ASSIGN_OR_RETURN(std::string runtime, f.String(j, "Runtime", "", true));
  if (runtime.rfind("python3", 0) == 0) {
    fn.runtime = Runtime::kPython;
  } else if (runtime.rfind("nodejs", 0) == 0) {
    fn.runtime = Runtime::kNode;
  } else if (runtime == "provided" || runtime.rfind("provided.", 0) == 0) {
    fn.runtime = Runtime::kProvided;
  } else if (runtime == "jupyter") {
    fn.runtime = Runtime::kJupyter;
  } else if (runtime == "exec" || runtime == "builtin") {
    fn.runtime = runtime == "exec" ? Runtime::kExec : Runtime::kBuiltin;
  } else {
    return f.Error("/Runtime", "expected \"python3.x\" or \"nodejs…\" (Lambda's runtimes), \"provided\" / "
                               "\"provided.al2023\" (a bootstrap program), \"jupyter\" (a notebook), \"exec\" (a program) "
                               "or \"builtin\" (a built-in stage)");
  }
  fn.runtime_name = runtime;
  if (fn.runtime == Runtime::kJupyter) {
    // The notebook is the event's: there is no code of the function's own.
    for (const char* field : {"Handler", "Code"}) {
      if (j.contains(field)) {
        return f.Error(std::string("/") + field, "a jupyter function runs the notebook its event names with "
                                                 "bucketd's notebook runner; leave " + std::string(field) + " out");
      }
    }
    fn.handler = kNotebookHandler;
  } else {
    ASSIGN_OR_RETURN(fn.handler, f.String(j, "Handler", "", true));
  }
  if (fn.runtime == Runtime::kExec && (fn.handler.empty() || fn.handler[0] != '/')) {
    return f.Error("/Handler", "expected the program's absolute path");
  }
  if (IsLambdaRuntime(fn.runtime)) {
    if (fn.runtime == Runtime::kPython || fn.runtime == Runtime::kNode) {
      size_t dot = fn.handler.rfind('.');
      bool ok = dot != std::string::npos && dot > 0 && dot + 1 < fn.handler.size();
      for (char c : fn.handler) {
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '-');
      }
      if (!ok) {
        return f.Error("/Handler", fn.runtime == Runtime::kPython ? "expected MODULE.FUNCTION (\"app.lambda_handler\")"
                                                                  : "expected FILE.EXPORT (\"index.handler\")");
      }
    }
    if (fn.runtime != Runtime::kJupyter) {
      constexpr char kCodeShapes[] = "expected {\"Directory\": \"/absolute/path\"}, {\"ZipFile\": \"/absolute/f.zip\"} "
                                     "or {\"S3Bucket\": \"bucket\", \"S3Key\": \"key.zip\"}";
      if (!j.contains("Code") || !j["Code"].is_object()) return f.Error("/Code", kCodeShapes);
      const auto& code = j["Code"];
      RETURN_IF_ERROR(f.OnlyKeys(code, "/Code", {"Directory", "ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion"}));
      int shapes = code.contains("Directory") + code.contains("ZipFile") + (code.contains("S3Bucket") || code.contains("S3Key"));
      if (shapes != 1) return f.Error("/Code", std::string(kCodeShapes) + ", one of them");
      if (code.contains("S3ObjectVersion")) {
        return f.Error("/Code/S3ObjectVersion", "bucketd keeps one version of an object; name the key only");
      }
      for (const char* field : {"Directory", "ZipFile"}) {
        if (!code.contains(field)) continue;
        ASSIGN_OR_RETURN(std::string path, f.String(code, field, "/Code", true));
        if (path.empty() || path[0] != '/') return f.Error(std::string("/Code/") + field, "expected an absolute path");
        (std::string(field) == "Directory" ? fn.code_directory : fn.code_zip_file) = path;
      }
      if (code.contains("S3Bucket") || code.contains("S3Key")) {
        ASSIGN_OR_RETURN(fn.code_s3_bucket, f.String(code, "S3Bucket", "/Code", true));
        ASSIGN_OR_RETURN(fn.code_s3_key, f.String(code, "S3Key", "/Code", true));
        if (Status b = store::ValidateBucketName(fn.code_s3_bucket); !b.ok()) return f.Error("/Code/S3Bucket", b.message());
        if (Status k = store::ValidateKey(fn.code_s3_key); !k.ok()) return f.Error("/Code/S3Key", k.message());
      }
    }
    // Lambda's default when absent; a notebook gets what a small SageMaker
    // processing instance would give it.
    if (!j.contains("MemorySize")) fn.memory_mb = fn.runtime == Runtime::kJupyter ? kNotebookMemoryMb : 128;
    if (j.contains("Layers")) {
      const auto& layers = j["Layers"];
      if (!layers.is_array() || layers.size() > kMaxLayers) {
        return f.Error("/Layers", "expected a list of at most " + std::to_string(kMaxLayers) +
                                      " layer version ARNs (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N)");
      }
      for (size_t i = 0; i < layers.size(); ++i) {
        if (!layers[i].is_string()) return f.Error("/Layers/" + std::to_string(i), "expected a layer version ARN");
        fn.layers.push_back(layers[i].get<std::string>());
      }
    }
  } else if (j.contains("Code") || j.contains("Layers")) {
    std::string field = j.contains("Code") ? "Code" : "Layers";
    return f.Error("/" + field, "only a Lambda runtime's function has " + field +
                                    " (an exec function names its program in Handler)");
  }
  if (fn.runtime == Runtime::kBuiltin && builtins.count(fn.handler) == 0) {
    std::string names;
    for (const auto& b : builtins) names += (names.empty() ? "" : ", ") + b;
    return f.Error("/Handler", "expected a built-in stage (" + names + ")");
  }
  ASSIGN_OR_RETURN(fn.role, f.String(j, "Role", "", false));
  if (!fn.role.empty() && !ValidRoleArn(fn.role)) {
    return f.Error("/Role", "expected a role ARN, arn:aws:iam::ACCOUNT:role/NAME");
  }
  ASSIGN_OR_RETURN(fn.timeout_seconds, f.Int(j, "Timeout", "", 1, kMaxTimeoutSeconds,
                                              fn.runtime == Runtime::kJupyter ? kNotebookTimeoutSeconds : 3));
  ASSIGN_OR_RETURN(fn.memory_mb, f.Int(j, "MemorySize", "", 128, 1 << 20, fn.memory_mb));
  ASSIGN_OR_RETURN(fn.working_directory, f.String(j, "WorkingDirectory", "", false));
  if (!fn.working_directory.empty() && fn.working_directory[0] != '/') {
    return f.Error("/WorkingDirectory", "expected an absolute path");
  }
  if (j.contains("MaximumRetryAttempts")) {
    ASSIGN_OR_RETURN(int r, f.Int(j, "MaximumRetryAttempts", "", 0, 2, 2));
    fn.max_retry_attempts = r;
  }
  if (j.contains("MaximumEventAgeInSeconds")) {
    ASSIGN_OR_RETURN(int a, f.Int(j, "MaximumEventAgeInSeconds", "", 60, 21600, 21600));
    fn.max_event_age_seconds = a;
  }
  if (j.contains("ReservedConcurrentExecutions")) {
    ASSIGN_OR_RETURN(int r, f.Int(j, "ReservedConcurrentExecutions", "", 0, 1000, 0));
    fn.reserved_concurrency = r;
  }
  if (j.contains("Environment")) {
    const auto& e = j["Environment"];
    if (!e.is_object()) return f.Error("/Environment", "expected {\"Variables\": {…}}");
    RETURN_IF_ERROR(f.OnlyKeys(e, "/Environment", {"Variables"}));
    if (e.contains("Variables")) {
      const auto& vars = e["Variables"];
      if (!vars.is_object()) return f.Error("/Environment/Variables", "expected an object of strings");
      for (const auto& [k, v] : vars.items()) {
        std::string p = "/Environment/Variables/" + k;
        if (!ValidVariableName(k)) return f.Error(p, "expected a name of letters, digits and '_' starting with a letter");
        if (k.rfind("BUCKETD_", 0) == 0) return f.Error(p, "BUCKETD_* variables are set by bucketd");
        if (!v.is_string()) return f.Error(p, "expected a string");
        fn.environment[k] = v.get<std::string>();
      }
    }
  }
  if (j.contains("DestinationConfig")) {
    const auto& dc = j["DestinationConfig"];
    if (!dc.is_object()) return f.Error("/DestinationConfig", "expected an object");
    RETURN_IF_ERROR(f.OnlyKeys(dc, "/DestinationConfig", {"OnSuccess", "OnFailure"}));
    for (const char* which : {"OnSuccess", "OnFailure"}) {
      if (!dc.contains(which)) continue;
      std::string p = std::string("/DestinationConfig/") + which;
      const auto& d = dc[which];
      if (!d.is_object()) return f.Error(p, "expected {\"Destination\": \"<arn>\"}");
      RETURN_IF_ERROR(f.OnlyKeys(d, p, {"Destination"}));
      ASSIGN_OR_RETURN(std::string arn, f.String(d, "Destination", p, true));
      auto dest = ParseDestination(arn);
      if (!dest.ok()) return f.Error(p + "/Destination", dest.status().message());
      (std::string(which) == "OnSuccess" ? fn.on_success : fn.on_failure) = *dest;
    }
  }
  return fn;
}

Result<FunctionSet> LoadFunctionsDir(Env& env, const std::string& dir,
                                     const std::set<std::string>& builtins) {
  Fs& fs = env.fs();
  FunctionSet out;
  auto dfd = fs.OpenAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
  if (!dfd.ok()) {
    if (dfd.status().IsNotFound()) return out;  // no functions.d: no functions
    return dfd.status();
  }
  ASSIGN_OR_RETURN(auto names, rules::JsonFileNames(fs, dfd->get()));
  for (const auto& n : names) {
    std::string path = dir + "/" + n;
    ASSIGN_OR_RETURN(std::string text, rules::ReadConfigFile(fs, dfd->get(), n, path));
    ASSIGN_OR_RETURN(Function fn, ParseFunctionFile(text, path, builtins));
    auto it = out.find(fn.name);
    if (it != out.end()) {
      return Status::InvalidArgument(path + ": function name '" + fn.name + "' is already used in " +
                                     it->second.source);
    }
    out.emplace(fn.name, std::move(fn));
  }
  return out;
}

}  // namespace bucketd::runner

namespace bucketd::runner {

Status CheckLambdaCode(const Function& fn) {
  if (!IsLambdaRuntime(fn.runtime) || fn.code_directory.empty()) return Status::OK();
  auto is_file = [](const std::string& p, bool executable) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (!executable || ::access(p.c_str(), X_OK) == 0);
  };
  const std::string& dir = fn.code_directory;
  if (fn.runtime == Runtime::kProvided) {
    if (is_file(dir + "/bootstrap", true)) return Status::OK();
    return Status::InvalidArgument(fn.source + ": /Code: a " + fn.runtime_name + " function's code holds an "
                                   "executable named bootstrap; " + dir + "/bootstrap is " +
                                   (is_file(dir + "/bootstrap", false) ? "not executable" : "not there"));
  }
  std::string module = fn.handler.substr(0, fn.handler.rfind('.'));
  std::vector<std::string> candidates;
  if (fn.runtime == Runtime::kPython) {
    std::string path = module;
    std::replace(path.begin(), path.end(), '.', '/');
    candidates = {dir + "/" + path + ".py", dir + "/" + path + "/__init__.py", dir + "/" + path + ".pyc"};
  } else {
    candidates = {dir + "/" + module + ".js", dir + "/" + module + ".mjs", dir + "/" + module + ".cjs"};
  }
  for (const auto& c : candidates) {
    if (is_file(c, false)) return Status::OK();
  }
  return Status::InvalidArgument(fn.source + ": /Handler: " + fn.handler + ": no module '" + module + "' in " + dir +
                                 " (expected " + candidates[0] + ")");
}

std::vector<std::string> TargetsWithoutFunctions(const std::vector<rules::Rule>& rules, const FunctionSet& functions) {
  std::vector<std::string> out;
  for (const auto& r : rules) {
    for (const auto& t : r.targets) {
      if (t.function.empty() || functions.count(t.function)) continue;
      out.push_back(r.source + ": " + t.arn_pointer + ": rule " + r.name + "'s target " + t.id +
                    " names function '" + t.function + "', which functions.d does not define; its invocations "
                    "will fail");
    }
  }
  return out;
}

}  // namespace bucketd::runner
