#include "runner/lambda_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/time_format.h"
#include "http/server.h"
#include "runner/code_package.h"
#include "runner/process_memory.h"
#include "runner/reaped.h"

namespace bucketd::runner {

extern const char kPythonBootstrap[];  // runner/runtimes/python_bootstrap.py, built in
extern const char kNodeBootstrap[];    // runner/runtimes/node_bootstrap.js, built in
extern const char kNotebookRunner[];   // runner/runtimes/notebook_runner.py: the jupyter runtime's handler
extern const char kNotebookKernel[];   // runner/runtimes/notebook_kernel.py: its kernel's launcher

namespace {

constexpr size_t kMaxPayloadBytes = 6 << 20;  // Lambda's synchronous payload limit
constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr char kApiPrefix[] = "/2018-06-01/runtime/";

// What makes two versions of a function need different environments.
// An environment's role session lasts this long; one whose session could
// end within a run's timeout plus the margin is not given another run.
constexpr int64_t kCredentialSeconds = 6 * 3600;
constexpr int64_t kCredentialMarginSeconds = 300;

std::string Fingerprint(const Function& fn) {
  nlohmann::json j = {{"h", fn.handler}, {"c", fn.code_directory}, {"r", fn.runtime_name},
                      {"m", fn.memory_mb},  {"t", fn.timeout_seconds}, {"e", fn.environment}, {"role", fn.role},
                      {"l", fn.layer_directories}, {"rev", fn.code_revision}};
  return j.dump();
}

// "a:b:c" of the `sub` directories of the function's layers that exist, the
// last layer's first (a later layer's files win, as in /opt), then `tail`.
std::string LayerPath(const Function& fn, const std::vector<std::string>& subs, const std::string& tail) {
  std::string out;
  for (auto layer = fn.layer_directories.rbegin(); layer != fn.layer_directories.rend(); ++layer) {
    for (const std::string& sub : subs) {
      std::string dir = *layer + "/" + sub;
      struct stat st;
      if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out += (out.empty() ? "" : ":") + dir;
    }
  }
  if (!tail.empty()) out += (out.empty() ? "" : ":") + tail;
  return out;
}

// A layer's python/lib/pythonX.Y/site-packages, for whichever X.Y it was
// built for (the interpreter bucketd runs may not be the Runtime's).
std::vector<std::string> PythonLayerDirs(const Function& fn) {
  std::set<std::string> site;
  for (const std::string& layer : fn.layer_directories) {
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator(layer + "/python/lib", ec)) {
      if (d.path().filename().string().rfind("python3", 0) == 0) {
        site.insert("python/lib/" + d.path().filename().string() + "/site-packages");
      }
    }
  }
  std::vector<std::string> out(site.rbegin(), site.rend());
  out.push_back("python");
  return out;
}

// Lambda's words when an environment outgrows its MemorySize.
AttemptResult OutOfMemory(const std::string& request_id) {
  const std::string message = "RequestId: " + request_id + " Error: Runtime exited with error: signal: killed";
  AttemptResult r;
  r.outcome = "failed";
  r.error = "Runtime.OutOfMemory: " + message;
  r.response = nlohmann::json{{"errorMessage", message}, {"errorType", "Runtime.OutOfMemory"}}.dump();
  return r;
}

void Reply(http::Exchange& ex, int status, const std::string& body,
           std::vector<http::Header> headers = {}) {
  http::Response r;
  r.status = status;
  r.headers = std::move(headers);
  r.headers.push_back({"Content-Type", "application/json"});
  (void)ex.Respond(r, body);
}

void ReplyError(http::Exchange& ex, int status, const std::string& type, const std::string& message) {
  Reply(ex, status, nlohmann::json{{"errorMessage", message}, {"errorType", type}}.dump());
}

// The state directory as an absolute path: an environment runs in its code
// directory.
LambdaOptions Absolute(LambdaOptions o) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(o.state_dir, ec);
  if (!ec) o.state_dir = abs.lexically_normal().string();
  return o;
}

}  // namespace

std::string ReportLine(const std::string& request_id, int64_t duration_ns, int memory_mb, int64_t max_rss_kb,
                       int64_t init_ns) {
  char buf[256];
  int n = std::snprintf(buf, sizeof(buf),
                        "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %" PRId64
                        " ms\tMemory Size: %d MB\tMax Memory Used: %" PRId64 " MB",
                        request_id.c_str(), static_cast<double>(duration_ns) / kNanosPerMilli,
                        std::max<int64_t>(1, (duration_ns + kNanosPerMilli - 1) / kNanosPerMilli), memory_mb, (max_rss_kb + 1023) / 1024);
  std::string out(buf, static_cast<size_t>(std::max(0, n)));
  if (init_ns >= 0) {
    std::snprintf(buf, sizeof(buf), "\tInit Duration: %.2f ms", static_cast<double>(init_ns) / kNanosPerMilli);
    out += buf;
  }
  return out;
}

struct LambdaExecutor::Environment {
  std::string id;
  std::string function;
  std::string fingerprint;
  pid_t pid = 0;
  UniqueFd pidfd;
  UniqueFd out;
  std::string partial;
  std::string tmp_dir;
  std::unique_ptr<http::Server> api;
  int64_t spawned_ns = 0;
  int64_t idle_since_ns = 0;
  int64_t credentials_expire_ns = 0;  // the role's session; 0: none
  bool init_reported = false;
  bool retire = false;  // its function changed: ends after the current run
  int64_t busy_n = 0;   // the run it is given (held or at work); 0: idle
  int64_t last_n = 0;
  int last_attempt = 0;
  int64_t peak_rss_kb = 0;  // its process tree's, as far as looked at

  // Shared with the Runtime API's threads.
  struct Job {
    std::string request_id, input, arn;
    int64_t deadline_ms = 0;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Job> next;        // guarded by mu
  std::string current_request;    // guarded by mu: handed out, not yet answered
  bool closing = false;           // guarded by mu
  std::atomic<int64_t> first_next_ns{0};  // when init ended (its first /next)
};

LambdaExecutor::LambdaExecutor(Clock& clock, LambdaOptions options)
    : clock_(clock),
      options_(Absolute(std::move(options))),
      endpoint_url_(options_.endpoint_url),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  std::string dir = options_.state_dir + "/lambda";
  runtime_dir_ = AbsoluteStateDir(options_.state_dir) + "/lambda/runtime";
  ::mkdir(dir.c_str(), 0700);
  ::mkdir((dir + "/runtime").c_str(), 0755);
  ::mkdir((dir + "/tmp").c_str(), 0700);
  // Written anew by every bucketd, so the runtimes are always this build's.
  struct Shipped {
    const char* name;
    const char* text;
    std::string* path;
  };
  // The notebook runner is imported from the runtime directory by name:
  // nobody needs its path.
  for (const Shipped& r : {Shipped{"python_bootstrap.py", kPythonBootstrap, &bootstrap_},
                           Shipped{"node_bootstrap.js", kNodeBootstrap, &node_bootstrap_},
                           Shipped{"notebook_runner.py", kNotebookRunner, nullptr},
                           Shipped{"notebook_kernel.py", kNotebookKernel, nullptr}}) {
    if (WriteFileAtomically(Env::Default().fs(), dir + "/runtime", r.name, r.text, 0644).ok() && r.path) {
      *r.path = dir + "/runtime/" + r.name;
    }
  }
}

LambdaExecutor::~LambdaExecutor() { Stop(); }

// By address only: a killed environment must not be read.
bool LambdaExecutor::Alive(const Environment* env) const {
  for (const auto& [name, list] : envs_) {
    for (const auto& e : list) {
      if (e.get() == env) return true;
    }
  }
  return false;
}

size_t LambdaExecutor::environments() const {
  size_t n = 0;
  for (const auto& [name, list] : envs_) n += list.size();
  return n;
}

void LambdaExecutor::SetFunctions(const FunctionSet& functions) {
  functions_ = functions;
  for (auto& [name, list] : envs_) {
    auto fn = functions_.find(name);
    for (auto& env : list) {
      if (fn == functions_.end() || Fingerprint(fn->second) != env->fingerprint) env->retire = true;
    }
  }
}

void LambdaExecutor::Post(Posted p) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(p));
  }
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
}

// The Lambda Runtime API, for one environment's runtime.
void LambdaExecutor::ServeRuntimeApi(Environment& env, http::Exchange& ex) {
  const http::Request& req = ex.request();
  std::string path = req.target.substr(0, req.target.find('?'));
  if (path.rfind(kApiPrefix, 0) != 0) return ReplyError(ex, 404, "InvalidRequest", "no such path: " + path);
  path = path.substr(sizeof(kApiPrefix) - 1);
  if (req.method == "GET" && path == "invocation/next") {
    int64_t zero = 0;
    env.first_next_ns.compare_exchange_strong(zero, clock_.NowNanos());
    std::unique_lock<std::mutex> lock(env.mu);
    env.cv.wait(lock, [&] { return env.closing || env.next.has_value(); });
    if (env.closing) return ReplyError(ex, 500, "Runtime.Closing", "the execution environment is stopping");
    Environment::Job job = std::move(*env.next);
    env.next.reset();
    env.current_request = job.request_id;
    lock.unlock();
    char trace[96];
    std::snprintf(trace, sizeof(trace), "Root=1-%08llx-%s;Sampled=0",
                  static_cast<unsigned long long>(job.deadline_ms / 1000), job.request_id.substr(0, 24).c_str());
    return Reply(ex, 200, job.input,
                 {{"Lambda-Runtime-Aws-Request-Id", job.request_id},
                  {"Lambda-Runtime-Deadline-Ms", std::to_string(job.deadline_ms)},
                  {"Lambda-Runtime-Invoked-Function-Arn", job.arn},
                  {"Lambda-Runtime-Trace-Id", trace}});
  }
  if (req.method != "POST") return ReplyError(ex, 405, "InvalidRequest", req.method + " " + path);
  std::string body;
  char buf[64 << 10];
  for (;;) {
    auto n = ex.ReadBody(buf, sizeof(buf));
    if (!n.ok()) return;  // the runtime went away mid-request; its death ends the run
    if (*n == 0) break;
    if (body.size() + *n > kMaxPayloadBytes) {
      return ReplyError(ex, 413, "RequestEntityTooLarge", "a response is at most 6 MB");
    }
    body.append(buf, *n);
  }
  Posted::Kind kind;
  if (path == "init/error") {
    kind = Posted::Kind::kInitError;
  } else {
    // invocation/{id}/response | invocation/{id}/error
    size_t slash = path.rfind('/');
    std::string id = path.rfind("invocation/", 0) == 0 && slash > 11 ? path.substr(11, slash - 11) : "";
    std::string what = slash == std::string::npos ? "" : path.substr(slash + 1);
    if (id.empty() || (what != "response" && what != "error")) {
      return ReplyError(ex, 404, "InvalidRequest", "no such path: " + path);
    }
    std::lock_guard<std::mutex> lock(env.mu);
    if (id != env.current_request) {
      return ReplyError(ex, 400, "InvalidRequestID", "Invalid request ID");
    }
    env.current_request.clear();
    kind = what == "response" ? Posted::Kind::kResponse : Posted::Kind::kError;
  }
  Post(Posted{&env, kind, std::move(body)});
  Reply(ex, 202, R"({"status":"OK"})");
}

Result<LambdaExecutor::Environment*> LambdaExecutor::EnvironmentFor(const Function& fn, int64_t now) {
  // SetFunctions retires every environment of an earlier version of fn.
  for (auto& env : envs_[fn.name]) {
    if (env->busy_n != 0 || env->retire) continue;
    // Credentials that could expire during the run: a fresh environment
    // gets fresh ones.
    if (env->credentials_expire_ns != 0 &&
        env->credentials_expire_ns < now + (fn.timeout_seconds + kCredentialMarginSeconds) * kNanosPerSecond) {
      env->retire = true;
      continue;
    }
    return env.get();
  }
  if (!fn.code_error.empty()) return Status::PreconditionFailed(fn.code_error);
  std::optional<RoleSession> credentials;
  if (!fn.role.empty()) {
    if (!options_.role_credentials) {
      return Status::PreconditionFailed("function " + fn.name + " has a Role, but this bucketd has no IAM store "
                                        "to make its credentials with");
    }
    auto made = options_.role_credentials(fn.role, fn.name, kCredentialSeconds);
    if (!made.ok()) return Status(made.status().code(), "function " + fn.name + ": " + made.status().message());
    credentials = *made;
  }
  // What the environment runs: bucketd's runtime for the language, or the
  // function's own bootstrap.
  std::vector<std::string> argv_text;
  if (fn.runtime == Runtime::kPython || fn.runtime == Runtime::kJupyter) {
    argv_text = {options_.python, "-u", bootstrap_};
  } else if (fn.runtime == Runtime::kNode) {
    argv_text = {options_.node};
    for (const std::string& flag : options_.node_flags) argv_text.push_back(flag);
    argv_text.push_back(node_bootstrap_);
  } else {
    argv_text = {fn.code_directory + "/bootstrap"};
  }
  if (argv_text.back().empty()) {
    return Status::IOError("cannot write bucketd's " + fn.runtime_name + " runtime under " + options_.state_dir);
  }
  auto env = std::make_unique<Environment>();
  env->id = std::to_string(++next_env_) + "-" + std::to_string(now / kNanosPerMilli);
  env->function = fn.name;
  env->fingerprint = Fingerprint(fn);
  env->spawned_ns = now;
  env->tmp_dir = options_.state_dir + "/lambda/tmp/" + fn.name + "-" + env->id;
  if (::mkdir(env->tmp_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno("making the environment's TMPDIR " + env->tmp_dir, errno);
  }
  Environment* raw = env.get();
  http::ServerOptions so;
  so.workers = 4;
  so.max_connections = 16;
  // A runtime waits in /next for as long as no invocation comes.
  so.header_timeout_ns = INT64_MAX / 4;
  ASSIGN_OR_RETURN(env->api, http::Server::Listen(
                                 "127.0.0.1:0", [this, raw](http::Exchange& ex) { ServeRuntimeApi(*raw, ex); }, so));

  std::map<std::string, std::string> vars = fn.environment;
  std::string day = FormatUtc(now, "%Y/%m/%d");
  std::map<std::string, std::string> lambda = {
      {"AWS_LAMBDA_RUNTIME_API", "127.0.0.1:" + std::to_string(env->api->port())},
      {"_HANDLER", fn.handler},
      {"LAMBDA_TASK_ROOT", fn.runtime == Runtime::kJupyter ? runtime_dir_ : fn.code_directory},
      {"LAMBDA_RUNTIME_DIR", runtime_dir_},
      {"AWS_LAMBDA_FUNCTION_NAME", fn.name},
      {"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"},
      {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(fn.memory_mb)},
      {"AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + fn.name},
      {"AWS_LAMBDA_LOG_STREAM_NAME", day + "/[$LATEST]" + env->id},
      {"AWS_REGION", options_.region},
      {"AWS_DEFAULT_REGION", options_.region},
      {"AWS_EXECUTION_ENV", "AWS_Lambda_" + fn.runtime_name},
      {"TZ", ":UTC"},
      {"LANG", "C.UTF-8"},
      {"PATH", LayerPath(fn, {"bin"}, "/usr/local/bin:/usr/bin:/bin")},
      {"TMPDIR", env->tmp_dir},
      {"HOME", env->tmp_dir},
      {"PYTHONUNBUFFERED", "1"},
      {"PYTHONDONTWRITEBYTECODE", "1"}};
  if (!endpoint_url_.empty()) lambda["AWS_ENDPOINT_URL"] = endpoint_url_;
  // Layers join the paths after the function's own code and before what
  // the machine has; a function's own PYTHONPATH or LD_LIBRARY_PATH follows.
  auto before = [&vars](const std::string& name, const std::string& ours) {
    auto own = vars.find(name);
    std::string theirs = own == vars.end() ? "" : own->second;
    return ours.empty() ? theirs : theirs.empty() ? ours : ours + ":" + theirs;
  };
  if (std::string p = before("PYTHONPATH", LayerPath(fn, PythonLayerDirs(fn), "")); !p.empty()) lambda["PYTHONPATH"] = p;
  if (std::string p = before("LD_LIBRARY_PATH", LayerPath(fn, {"lib"}, "")); !p.empty()) lambda["LD_LIBRARY_PATH"] = p;
  std::string node_path = fn.code_directory + "/node_modules";
  if (std::string l = LayerPath(fn, {"nodejs/node_modules"}, ""); !l.empty()) node_path += ":" + l;
  lambda["NODE_PATH"] = before("NODE_PATH", node_path);
  if (credentials) {
    lambda["AWS_ACCESS_KEY_ID"] = credentials->access_key_id;
    lambda["AWS_SECRET_ACCESS_KEY"] = credentials->secret_access_key;
    lambda["AWS_SESSION_TOKEN"] = credentials->session_token;
    env->credentials_expire_ns = credentials->expires_ns;
  }
  // Lambda's own variables win over the function's, as in Lambda.
  for (auto& [k, v] : lambda) vars[k] = v;
  std::vector<std::string> env_text;
  for (const auto& [k, v] : vars) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, write_end.get(), 2);
  // A notebook's relative paths are its environment's own.
  std::string cwd = fn.runtime == Runtime::kJupyter ? env->tmp_dir : fn.code_directory;
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);  // bucketd blocks the signals it reads from a signalfd
  posix_spawnattr_setsigdefault(&attr, &all);
  int rc = posix_spawn(&env->pid, argv_text[0].c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::FromErrno("starting " + argv_text[0] + " for function " + fn.name, rc);
  write_end.Reset();
  (void)::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  env->out = std::move(read_end);
  // Liveness through a pidfd: another executor may reap the process first.
  env->pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, env->pid, 0)));
  (void)TakeReaped(env->pid);  // an earlier process's of the same number
  envs_[fn.name].push_back(std::move(env));
  return raw;
}

Status LambdaExecutor::Start(const Attempt& a, bool held) {
  if (draining_) return Status::Unavailable("the executor is stopping");
  int64_t now = clock_.NowNanos();
  ASSIGN_OR_RETURN(Environment * env, EnvironmentFor(a.function, now));
  Run run;
  run.n = a.n;
  run.attempt = a.number();
  run.request_id = a.invocation.id;
  run.input = a.invocation.input;
  run.function_arn = "arn:aws:lambda:" + options_.region + ":" + options_.account + ":function:" + a.function.name;
  run.started_ns = a.started_ns;
  run.deadline_ns = a.deadline_ns;
  run.timeout_seconds = a.function.timeout_seconds;
  run.memory_mb = a.function.memory_mb;
  run.env = env;
  env->busy_n = a.n;
  env->last_n = a.n;
  env->last_attempt = run.attempt;
  auto& stored = runs_[a.n] = std::move(run);
  if (held) {
    held_.push_back(a.n);
  } else {
    Hand(stored);
  }
  return Status::OK();
}

void LambdaExecutor::Hand(Run& run) {
  Environment& env = *run.env;
  run.started_ns = clock_.NowNanos();
  {
    std::lock_guard<std::mutex> lock(env.mu);
    env.next = Environment::Job{run.request_id, run.input, run.function_arn, run.deadline_ns / kNanosPerMilli};
  }
  env.cv.notify_all();
  start_lines_.push_back({run.n, run.attempt,
                          OutputLine{run.started_ns / kNanosPerMilli, 1, "START RequestId: " + run.request_id + " Version: $LATEST"}});
}

void LambdaExecutor::Release(bool go) {
  std::vector<int64_t> held = std::exchange(held_, {});
  for (int64_t n : held) {
    auto it = runs_.find(n);
    if (it == runs_.end()) continue;
    if (go) {
      Hand(it->second);
    } else {
      it->second.env->busy_n = 0;
      it->second.env->idle_since_ns = clock_.NowNanos();
    }
  }
}

void LambdaExecutor::Drop(int64_t n) {
  auto it = runs_.find(n);
  if (it == runs_.end()) return;
  Environment* env = it->second.env;
  bool handed = std::find(held_.begin(), held_.end(), n) == held_.end();
  held_.erase(std::remove(held_.begin(), held_.end(), n), held_.end());
  runs_.erase(it);
  // One at work is ended with its environment (its answer would meet no run).
  if (handed) {
    Kill(env);
  } else {
    env->busy_n = 0;
  }
}

void LambdaExecutor::Kill(Environment* env) {
  {
    std::lock_guard<std::mutex> lock(env->mu);
    env->closing = true;
  }
  env->cv.notify_all();
  if (env->pid > 0) (void)::kill(-env->pid, SIGKILL);
  auto& list = envs_[env->function];
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->get() != env) continue;
    std::unique_ptr<Environment> owned = std::move(*it);
    list.erase(it);
    owned->api.reset();  // joins its threads, none of which waits any more
    if (owned->pid > 0) {
      siginfo_t info;
      // Killed just now: waited for, so no zombie is left (ECHILD when another executor reaped it).
      (void)::waitid(P_PIDFD, static_cast<id_t>(owned->pidfd.get()), &info, WEXITED);
      (void)TakeReaped(owned->pid);
    }
    std::error_code ignored;
    std::filesystem::remove_all(owned->tmp_dir, ignored);
    break;
  }
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.erase(std::remove_if(posted_.begin(), posted_.end(), [&](const Posted& p) { return p.env == env; }),
                  posted_.end());
  }
}

void LambdaExecutor::ReadOutput(Environment& env, ExecutorReport& report, bool flush) {
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(env.out.get(), buf, sizeof(buf));
    if (n <= 0) break;
    env.partial.append(buf, static_cast<size_t>(n));
    if (env.partial.size() > (4 << 20)) flush = true;  // a line without end: out it goes anyway
  }
  int64_t ms = clock_.NowNanos() / kNanosPerMilli;
  size_t start = 0;
  for (size_t nl; (nl = env.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    report.output.push_back({env.last_n, env.last_attempt, OutputLine{ms, 1, env.partial.substr(start, nl - start)}});
  }
  env.partial.erase(0, start);
  if (flush && !env.partial.empty()) {
    report.output.push_back({env.last_n, env.last_attempt, OutputLine{ms, 1, std::move(env.partial)}});
    env.partial.clear();
  }
}

void LambdaExecutor::End(Run& run, AttemptResult r, ExecutorReport& report, bool keep_env) {
  Environment* env = run.env;
  int64_t now = clock_.NowNanos();
  ReadOutput(*env, report, !keep_env);
  int64_t init_ns = -1;
  if (!env->init_reported) {
    env->init_reported = true;
    int64_t first = env->first_next_ns.load();
    init_ns = first > 0 ? first - env->spawned_ns : now - env->spawned_ns;
  }
  int64_t ms = now / kNanosPerMilli;
  report.output.push_back({run.n, run.attempt, OutputLine{ms, 1, "END RequestId: " + run.request_id}});
  report.output.push_back({run.n, run.attempt,
                           OutputLine{ms, 1, ReportLine(run.request_id, now - run.started_ns, run.memory_mb,
                                                        std::max(env->peak_rss_kb, PeakRssKb(env->pid)), init_ns)}});
  r.n = run.n;
  r.started_ns = run.started_ns;
  r.finished_ns = now;
  report.ended.push_back(std::move(r));
  runs_.erase(run.n);
  env->busy_n = 0;
  env->idle_since_ns = now;
  if (!keep_env || env->retire) Kill(env);
}

bool LambdaExecutor::OverMemory(const Run& run, Environment& env) {
  if (run.memory_mb <= 0 || env.pid <= 0) return false;
  env.peak_rss_kb = std::max({env.peak_rss_kb, TreeRssKb(env.pid), PeakRssKb(env.pid)});
  return env.peak_rss_kb > static_cast<int64_t>(run.memory_mb) * 1024;
}

ExecutorReport LambdaExecutor::Collect(int64_t now) {
  ExecutorReport report;
  report.output = std::exchange(start_lines_, {});
  uint64_t drained;
  while (::read(wake_.get(), &drained, sizeof(drained)) > 0) {
  }
  std::vector<Posted> posted;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted.swap(posted_);
  }
  for (Posted& p : posted) {
    Environment* env = p.env;
    // One posted earlier in this batch may have ended it (an init error).
    if (!Alive(env)) continue;
    auto run = runs_.find(env->busy_n);
    bool init_error = p.kind == Posted::Kind::kInitError;
    if (run == runs_.end()) {
      if (init_error) Kill(env);
      continue;
    }
    // A peak between two looks is caught here: the answer of a runtime
    // that outgrew its MemorySize does not count.
    if (OverMemory(run->second, *env)) {
      End(run->second, OutOfMemory(run->second.request_id), report, false);
      continue;
    }
    AttemptResult r;
    r.ok = p.kind == Posted::Kind::kResponse;
    r.outcome = r.ok ? "succeeded" : "failed";
    r.response = p.body;
    if (!r.ok) {
      auto doc = nlohmann::json::parse(p.body, nullptr, false);
      std::string type = doc.is_object() && doc.contains("errorType") && doc["errorType"].is_string()
                             ? doc["errorType"].get<std::string>()
                             : "Unhandled";
      std::string message = doc.is_object() && doc.contains("errorMessage") && doc["errorMessage"].is_string()
                                ? doc["errorMessage"].get<std::string>()
                                : p.body.substr(0, 1000);
      r.error = type + ": " + message;
    }
    End(run->second, std::move(r), report, /*keep_env=*/!init_error);
  }
  // Output, deaths and deadlines.
  std::vector<Environment*> all;
  for (auto& [name, list] : envs_) {
    for (auto& env : list) all.push_back(env.get());
  }
  for (Environment* env : all) {
    ReadOutput(*env, report, false);
    struct pollfd p = {env->pidfd.get(), POLLIN, 0};
    bool dead = env->pidfd.get() >= 0 && ::poll(&p, 1, 0) == 1;
    auto run = runs_.find(env->busy_n);
    bool at_work = run != runs_.end() && std::find(held_.begin(), held_.end(), env->busy_n) == held_.end();
    if (dead) {
      siginfo_t info{};
      std::string how = "Runtime exited without providing a reason";
      if (::waitid(P_PIDFD, static_cast<id_t>(env->pidfd.get()), &info, WEXITED | WNOHANG) == 0 && info.si_pid != 0) {
        how = info.si_code == CLD_EXITED ? "Runtime exited with error: exit status " + std::to_string(info.si_status)
                                         : "Runtime exited with error: signal " + std::to_string(info.si_status);
      } else if (std::optional<int> status = TakeReaped(env->pid)) {
        how = WIFEXITED(*status) ? "Runtime exited with error: exit status " + std::to_string(WEXITSTATUS(*status))
                                 : "Runtime exited with error: signal " + std::to_string(WTERMSIG(*status));
      }
      env->pid = 0;  // gone: no signal may reach whatever gets its number next
      if (run != runs_.end()) {
        AttemptResult r;
        r.outcome = "failed";
        r.error = how;
        r.response = nlohmann::json{{"errorMessage", how}, {"errorType", "Runtime.ExitError"}}.dump();
        End(run->second, std::move(r), report, false);
      } else {
        ReadOutput(*env, report, true);
        Kill(env);
      }
      continue;
    }
    if (at_work && OverMemory(run->second, *env)) {
      End(run->second, OutOfMemory(run->second.request_id), report, false);
      continue;
    }
    if (at_work && now >= run->second.deadline_ns) {
      char msg[96];
      std::snprintf(msg, sizeof(msg), "Task timed out after %d.00 seconds", run->second.timeout_seconds);
      AttemptResult r;
      r.outcome = "timed out";
      r.error = msg;
      r.response = nlohmann::json{{"errorMessage", msg}, {"errorType", "Sandbox.Timedout"}}.dump();
      End(run->second, std::move(r), report, false);
      continue;
    }
    if (env->busy_n == 0 && (env->retire || now - env->idle_since_ns >= options_.idle_ns)) Kill(env);
  }
  return report;
}

int64_t LambdaExecutor::NextCollectNs(int64_t now) const {
  int64_t next = INT64_MAX;
  for (const auto& [name, list] : envs_) {
    for (const auto& env : list) {
      // Output lines and a runtime's death are looked for this often.
      next = std::min(next, env->busy_n != 0 ? now + 100 * kNanosPerMilli : env->idle_since_ns + options_.idle_ns);
    }
  }
  for (const auto& [n, run] : runs_) next = std::min(next, run.deadline_ns);
  return next;
}

std::vector<int64_t> LambdaExecutor::Drain() {
  draining_ = true;
  std::vector<int64_t> never_begun = std::exchange(held_, {});
  for (int64_t n : never_begun) {
    auto it = runs_.find(n);
    if (it == runs_.end()) continue;
    it->second.env->busy_n = 0;
    runs_.erase(it);
  }
  return never_begun;
}

void LambdaExecutor::Stop() {
  draining_ = true;
  std::vector<Environment*> all;
  for (auto& [name, list] : envs_) {
    for (auto& env : list) all.push_back(env.get());
  }
  for (Environment* env : all) Kill(env);
  runs_.clear();
  held_.clear();
}

}  // namespace bucketd::runner
