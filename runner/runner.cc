#include "runner/runner.h"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>

#include "common/env.h"
#include "common/md5.h"
#include "common/time_format.h"
#include "runner/builtin_executor.h"
#include "runner/lambda_executor.h"
#include "runner/supervised_executor.h"

namespace bucketd::runner {

namespace {

constexpr int64_t kMs = 1'000'000;

// "<chain id>:<hop>" -> parts; false when malformed.
bool ParseChain(const std::string& s, std::string* chain, int* hop) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int h = std::atoi(s.c_str() + colon + 1);
  if (h <= 0) return false;
  *chain = s.substr(0, colon);
  *hop = h;
  return true;
}

std::string InvocationId(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (auto p : parts) {
    key.append(p);
    key.push_back('\0');
  }
  return Sha256Hex(key).substr(0, 24);
}

nlohmann::json JsonOrString(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? nlohmann::json(text) : j;
}

}  // namespace

Runner::Runner(Env& env, SqliteDb& db, store::Store& store, RunnerOptions options,
               BuiltinRegistry builtins, Executors executors)
    : env_(env), queue_(db), store_(store), options_(std::move(options)),
      builtins_(std::move(builtins)), functions_(std::make_shared<FunctionSet>()),
      plan_(env.clock(), PlanOptions{options_.workers, options_.max_hops, options_.retry_base_ns,
                                     options_.retry_max_ns, options_.jitter},
            env.random()),
      exec_(std::move(executors.exec)), builtin_(std::move(executors.builtin)), lambda_(std::move(executors.lambda)) {
  (void)env_.fs().MkdirAt(AT_FDCWD, options_.state_dir + "/runs", 0700);
  if (exec_ == nullptr) {
    exec_ = std::make_unique<SupervisedExecutor>(SupervisedOptions{
        options_.state_dir + "/runs", options_.supervisor, options_.store_root, options_.kill_grace_ns,
        options_.poll_ns, options_.idle_supervisors, options_.test_kill_after_run_dir});
  }
  if (builtin_ == nullptr) {
    BuiltinOptions o{options_.workers, options_.state_dir, options_.config_dir, {}};
    if (options_.log) {
      o.log = [this](const Invocation& tag, const std::string& line) {
        options_.log(events::LogLevel::kInfo, Fields(tag, tag.attempts), line);
      };
    }
    builtin_ = std::make_unique<BuiltinExecutor>(env_.clock(), store_, builtins_, std::move(o));
  }
  if (lambda_ == nullptr) {
    LambdaOptions o;
    o.state_dir = options_.state_dir;
    o.region = options_.identity.region;
    o.account = options_.identity.account;
    o.python = options_.python;
    o.node = options_.node;
    o.node_flags = options_.node_flags;
    o.endpoint_url = options_.endpoint_url;
    o.idle_ns = options_.lambda_idle_ns;
    o.role_credentials = options_.role_credentials;
    lambda_ = std::make_unique<LambdaExecutor>(env_.clock(), std::move(o));
  }
}

Runner::~Runner() { Shutdown(); }

void Runner::SetFunctions(std::shared_ptr<const FunctionSet> functions) {
  functions_ = std::move(functions);
  plan_.SetFunctions(functions_);
  for (Executor* ex : {exec_.get(), builtin_.get(), lambda_.get()}) ex->SetFunctions(*functions_);
}

void Runner::SetEndpointUrl(const std::string& url) {
  if (auto* lambda = dynamic_cast<LambdaExecutor*>(lambda_.get())) lambda->set_endpoint_url(url);
}

void Runner::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // Handed over but not begun: pending again, no attempt spent.
  for (Executor* ex : {exec_.get(), builtin_.get(), lambda_.get()}) {
    for (int64_t n : ex->Drain()) {
      if (n < 0) continue;  // a synchronous one: answered below
      running_.erase(n);
      plan_.Unstart(n, /*requeue=*/false);
    }
  }
  // Built-in stages at work get until their deadline, then are asked to
  // stop. (Exec targets go on under their supervisors.)
  for (;;) {
    Collect();
    bool busy = std::any_of(running_.begin(), running_.end(),
                            [](const auto& r) { return r.second->MustWaitFor(r.first); });
    if (!busy) break;
    struct pollfd p[3] = {{exec_->wake_fd(), POLLIN, 0}, {builtin_->wake_fd(), POLLIN, 0}, {lambda_->wake_fd(), POLLIN, 0}};
    (void)::poll(p, 3, 100);
  }
  for (Executor* ex : {exec_.get(), builtin_.get(), lambda_.get()}) ex->Stop();
  // Synchronous invocations still at work: their callers hear why.
  while (!sync_.empty()) {
    AttemptResult r;
    r.n = sync_.begin()->first;
    r.error = "bucketd stopped before the function returned";
    EndSync(r);
  }
  Flush();
}

std::string Runner::RunDir(const std::string& id, int attempt) const {
  return options_.state_dir + "/runs/" + RunDirName(id, attempt);
}

LogFields Runner::Fields(const Invocation& v, int attempt) const {
  LogFields f;
  auto fn = functions_->find(v.function);
  f.stage = fn == functions_->end() ? v.function
            : fn->second.runtime == Runtime::kBuiltin ? fn->second.handler
                                                      : fn->second.name;
  f.rule = v.rule;
  f.target = v.target;
  f.function = v.function;
  f.invocation_id = v.id;
  f.bucket = v.bucket;
  f.key = v.key;
  f.attempt = attempt;
  return f;
}

void Runner::Log(events::LogLevel level, const Invocation& v, const std::string& message,
                 const std::string& error, int64_t duration_ms) {
  if (!options_.log) return;
  LogFields f = Fields(v, v.attempts);
  f.error = error;
  f.duration_ms = duration_ms;
  options_.log(level, f, message);
}

Status Runner::Enqueue(Transaction&, const std::vector<rules::Match>& matches) {
  for (const auto& m : matches) RETURN_IF_ERROR(Insert(m));
  return Status::OK();
}

Status Runner::Insert(const rules::Match& m) {
  Invocation v;
  v.rule = m.rule->name;
  v.target = m.target->id;
  v.function = m.target->function;
  v.arn = m.target->arn;
  v.event_id = m.event_id;
  v.event_json = m.event_json;
  if (m.input.ok()) {
    v.input = *m.input;
  } else {
    v.input_error = m.input.status().message();
  }
  int64_t now = env_.clock().NowNanos();
  v.created_ns = now;
  v.age_base_ns = now;
  if (m.record != nullptr) {
    v.bucket = m.record->change.bucket;
    v.key = m.record->change.key;
    v.trail_seq = m.record->seq;
    v.age_base_ns = m.record->time_ns;
  }
  v.max_retries = m.target->maximum_retry_attempts;
  v.max_age_seconds = m.target->maximum_event_age_seconds;
  if (const Function* fn = FindFunction(v.function)) {
    std::tie(v.max_retries, v.max_age_seconds) = fn->ErrorPolicy(v.max_retries, v.max_age_seconds);
  }
  v.dead_letter = m.target->dead_letter_arn;
  v.replay = m.replay_name;
  v.origin = !m.replay_name.empty() ? "replay" : m.record != nullptr ? "event" : "schedule";
  v.id = InvocationId({v.rule, v.target, v.event_id, v.replay});
  if (m.record == nullptr || !ParseChain(m.record->change.chain, &v.chain, &v.hop)) {
    v.chain = v.id;
    v.hop = 0;
  }
  v.hop += 1;
  return queue_.Insert(v);
}

Status Runner::EnqueueInvoke(Transaction&, const std::string& function, const std::string& payload,
                             const std::string& request_id) {
  Invocation v;
  v.rule = "";
  v.target = "Invoke";
  v.function = function;
  v.arn = "arn:aws:lambda:" + options_.identity.region + ":" + options_.identity.account + ":function:" + function;
  v.event_id = request_id;
  v.input = payload;
  v.created_ns = v.age_base_ns = env_.clock().NowNanos();
  v.max_retries = rules::kLambdaAsyncRetries;
  v.max_age_seconds = rules::kLambdaAsyncMaxAgeSeconds;
  if (const Function* fn = FindFunction(function)) {
    std::tie(v.max_retries, v.max_age_seconds) = fn->ErrorPolicy(v.max_retries, v.max_age_seconds);
  }
  v.origin = "invoke";
  v.id = request_id;
  v.chain = v.id;
  v.hop = 1;
  return queue_.Insert(v);
}

Status Runner::InvokeNow(const std::string& function, std::string payload, const std::string& request_id,
                         SyncDone done) {
  auto fn = functions_ ? functions_->find(function) : FunctionSet::const_iterator();
  if (!functions_ || fn == functions_->end()) {
    return Status::NotFound("Function not found: arn:aws:lambda:" + options_.identity.region + ":" +
                            options_.identity.account + ":function:" + function);
  }
  if (!IsLambdaRuntime(fn->second.runtime)) {
    return Status::InvalidArgument("function " + function + " runs a " + fn->second.runtime_name +
                                   " target, which takes asynchronous invocations only "
                                   "(--invocation-type Event)");
  }
  if (shut_down_) return Status::Unavailable("bucketd is stopping");
  // Reserved concurrency is one budget for every way a function is invoked,
  // as in Lambda, which throttles a RequestResponse past it.
  if (plan_.AtConcurrencyLimit(fn->second)) {
    return Status::ResourceExhausted("Rate Exceeded. (ReservedFunctionConcurrentInvocationLimitExceeded: function " +
                                     function + " runs as many invocations as its ReservedConcurrentExecutions, " +
                                     std::to_string(*fn->second.reserved_concurrency) + ")");
  }
  int64_t n = next_sync_n_--;
  SyncRun& run = sync_[n];
  run.done = std::move(done);
  Invocation& v = run.invocation;
  v.n = n;
  v.id = request_id;
  v.target = "Invoke";
  v.function = function;
  v.input = std::move(payload);
  v.origin = "invoke";
  v.attempts = 1;
  v.chain = v.id;
  int64_t now = env_.clock().NowNanos();
  std::string chain = v.chain + ":1";
  std::string signed_chain = store_.SignChain(chain);
  Status s = lambda_->Start(Attempt{n, v, fn->second, now,
                                    now + static_cast<int64_t>(fn->second.timeout_seconds) * kNanosPerSecond,
                                    std::move(chain), std::move(signed_chain)},
                            /*held=*/false);
  if (!s.ok()) {
    sync_.erase(n);
    return s;
  }
  plan_.AddOutsideRun(function);
  Log(events::LogLevel::kInfo, v, "invoked (RequestResponse)");
  return Status::OK();
}

bool Runner::TakeSync(const ExecutorReport::Line& out) {
  auto it = sync_.find(out.n);
  if (it == sync_.end()) return out.n < 0;
  if (options_.log) {
    LogFields f = Fields(it->second.invocation, 1);
    f.stream = out.line.stream;
    options_.log(events::LogLevel::kInfo, f, out.line.text);
  }
  // Lambda's LogResult: the last 4 KB.
  std::string& log = it->second.log;
  log += out.line.text + "\n";
  if (log.size() > 4096) log.erase(0, log.size() - 4096);
  return true;
}

bool Runner::EndSync(const AttemptResult& r) {
  auto it = sync_.find(r.n);
  if (it == sync_.end()) return r.n < 0;
  SyncRun run = std::move(it->second);
  sync_.erase(it);
  plan_.EndOutsideRun(run.invocation.function);
  SyncAnswer a;
  a.request_id = run.invocation.id;
  a.ok = r.ok;
  a.payload = !r.response.empty() ? r.response
              : r.ok              ? "null"
                                  : nlohmann::json{{"errorMessage", r.error}, {"errorType", "Runtime.Unknown"}}.dump();
  a.log_tail = std::move(run.log);
  int64_t ms = (r.finished_ns - r.started_ns) / kMs;
  Log(r.ok ? events::LogLevel::kInfo : events::LogLevel::kWarning, run.invocation,
      r.ok ? "returned in " + std::to_string(ms) + " ms" : "failed: " + r.error, r.ok ? "" : r.error, ms);
  if (run.done) run.done(std::move(a));
  return true;
}

void Runner::PrepareStarts() {
  auto rows = queue_.LoadAfter(last_n_, 1000);  // this transaction's own rows
  if (!rows.ok()) return;                        // they start after the commit instead
  for (auto& v : *rows) {
    if (IsTerminal(v.state) || plan_.Has(v.n)) continue;
    staged_.insert(v.n);
    plan_.Admit(std::move(v));
  }
  Dispatch(/*held=*/true);
}

void Runner::OnDurable() {
  exec_->Release(true);
  lambda_->Release(true);
  for (int64_t n : staged_) {
    last_n_ = std::max(last_n_, n);
    if (!plan_.Has(n)) continue;
    const Invocation& v = plan_.Get(n);
    LogQueued(v);
    const Function* fn = running_.count(n) ? FindFunction(v.function) : nullptr;
    if (fn != nullptr && fn->runtime == Runtime::kExec) LogStarted(v, *fn);
  }
  staged_.clear();
  LoadNew();
  Dispatch();
  Flush();
}

void Runner::OnRollback() {
  // The staged rows are gone (their numbers may be used again); so is
  // everything this runner did for them.
  exec_->Release(false);
  lambda_->Release(false);
  for (int64_t n : staged_) {
    auto run = running_.find(n);
    if (run != running_.end()) {
      run->second->Drop(n);
      running_.erase(run);
    }
    plan_.Forget(n);
  }
  staged_.clear();
}

void Runner::LoadNew() {
  for (;;) {
    auto rows = queue_.LoadAfter(last_n_, 1000);
    if (!rows.ok()) {
      if (options_.log) options_.log(events::LogLevel::kError, {}, "runner: cannot read the queue: " + rows.status().message());
      return;
    }
    for (auto& v : *rows) {
      last_n_ = std::max(last_n_, v.n);
      if (IsTerminal(v.state) || plan_.Has(v.n)) continue;
      LogQueued(v);
      plan_.Admit(std::move(v));
    }
    if (rows->size() < 1000) return;
  }
}

void Runner::LogStarted(const Invocation& v, const Function& fn) {
  Log(events::LogLevel::kInfo, v, "started " + fn.handler + " (attempt " + std::to_string(v.attempts) + ")");
}

void Runner::LogQueued(const Invocation& v) {
  std::string what = v.origin == "schedule"      ? "a scheduled event"
                     : v.origin == "destination" ? "the outcome of " + v.event_id
                                                 : "s3://" + v.bucket + "/" + v.key;
  Log(events::LogLevel::kInfo, v,
      "queued by rule " + v.rule + " for " + what + (v.replay.empty() ? "" : " (replay " + v.replay + ")") +
          " -> " + (v.function.empty() ? v.arn : "function " + v.function));
}

void Runner::Dispatch(bool held) {
  if (stalled_) return;
  std::function<bool(const Invocation&, const Function&)> also;
  if (held) {
    // Inside the transaction only exec starts of its own invocations are
    // handed over; the rest (errors, built-ins, older work) waits for the
    // commit.
    also = [this](const Invocation& v, const Function& fn) {
      return staged_.count(v.n) && ExecutorFor(fn).CanHold();
    };
  }
  for (const Decision& d : plan_.TakeReady(/*errors_wait=*/held, also)) {
    if (d.function == nullptr) {
      Dead(d.dead);
      continue;
    }
    StartAttempt(d.n, *d.function, held);
  }
}

void Runner::StartAttempt(int64_t n, const Function& fn, bool held) {
  int64_t now = env_.clock().NowNanos();
  const Invocation& v = plan_.Get(n);
  Executor& ex = ExecutorFor(fn);
  std::string chain = v.chain + ":" + std::to_string(v.hop);
  std::string signed_chain = store_.SignChain(chain);
  Status s = ex.Start(Attempt{n, v, fn, now, now + static_cast<int64_t>(fn.timeout_seconds) * kNanosPerSecond,
                              std::move(chain), std::move(signed_chain)},
                      held);
  if (s.ok()) {
    running_[n] = &ex;
    // A held start is told once its commit let it go: a log line (the
    // journal is another process) waits behind the fsync otherwise.
    if (fn.runtime == Runtime::kExec && !held) LogStarted(v, fn);
    return;
  }
  // A held start that no executor took: as if it had not been tried; the
  // commit's dispatch starts it.
  if (held) {
    plan_.Unstart(n);
    return;
  }
  // A state directory that cannot take the run directory is not the
  // target's failure: nothing starts until it can, and no attempt is spent.
  Status writable = ProbeStateDir();
  if (!writable.ok()) {
    plan_.Unstart(n);
    Stall(writable);
    return;
  }
  AttemptResult r;
  r.n = n;
  r.outcome = "failed";
  r.error = "cannot start the attempt: " + s.message();
  r.started_ns = r.finished_ns = now;
  Complete(r);
}

Status Runner::ProbeStateDir() {
  // What a run directory needs: a new file with some bytes, on disk.
  std::string path = options_.state_dir + "/runs/.space-probe";
  Fs& fs = env_.fs();
  Status s = [&]() -> Status {
    ASSIGN_OR_RETURN(UniqueFd fd, fs.OpenAt(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    RETURN_IF_ERROR(fs.WriteAll(fd.get(), std::string(4096, '.')));
    return fs.Fsync(fd.get());
  }();
  (void)fs.UnlinkAt(AT_FDCWD, path, false);
  return s;
}

void Runner::Stall(const Status& why) {
  next_stall_check_ns_ = env_.clock().NowNanos() + options_.stall_retry_ns;
  if (stalled_) return;
  stalled_ = true;
  if (options_.log) {
    options_.log(events::LogLevel::kError, {},
                 "runner: cannot record in " + options_.state_dir + " (" + why.message() +
                     "); starting nothing and spending no attempt until it can, checking every " +
                     std::to_string(options_.stall_retry_ns / kNanosPerSecond) + " s");
  }
}

void Runner::CheckStall(int64_t now) {
  // While work waits or runs, the state directory is probed now and then
  // even when nothing failed yet: a supervisor that cannot write its status
  // keeps its slot and says nothing, and a full disk must still be told.
  bool busy = !running_.empty() || plan_.NextReadyNs() != INT64_MAX;
  if (now < next_stall_check_ns_ || (!stalled_ && !busy)) return;
  next_stall_check_ns_ = now + options_.stall_retry_ns;
  Status s = ProbeStateDir();
  if (!stalled_) {
    if (!s.ok()) Stall(s);
    return;
  }
  if (s.ok()) s = Save();
  if (!s.ok()) {
    Stall(s);
    return;
  }
  stalled_ = false;
  if (options_.log) options_.log(events::LogLevel::kInfo, {}, "runner: recording works again; resuming");
}

void Runner::Collect() {
  int64_t now = env_.clock().NowNanos();
  Take(exec_->Collect(now));
  Take(builtin_->Collect(now));
  Take(lambda_->Collect(now));
}

void Runner::Take(ExecutorReport report) {
  for (auto& out : report.output) {
    if (TakeSync(out)) continue;
    if (!options_.log || !plan_.Has(out.n)) continue;
    LogFields f = Fields(plan_.Get(out.n), out.attempt);
    f.stream = out.line.stream;
    options_.log(events::LogLevel::kInfo, f, out.line.text);
  }
  for (const AttemptResult& r : report.ended) {
    if (EndSync(r)) continue;
    Complete(r);
    if (!r.check_state_dir) continue;
    Status writable = ProbeStateDir();
    if (!writable.ok()) Stall(writable);
  }
}

void Runner::Complete(const AttemptResult& r) {
  int64_t n = r.n;
  if (!plan_.Has(n)) return;
  Invocation v = plan_.Get(n);  // as it was; the plan may retire it
  v.response = r.response;
  running_.erase(n);
  attempts_to_save_.push_back({v.id, v.attempts, r.started_ns, r.finished_ns, r.outcome, r.error});
  Verdict verdict = plan_.Finish(n, AttemptEnd{r.ok, r.not_started, r.error, r.finished_ns, r.permanent});
  int64_t ms = (r.finished_ns - r.started_ns) / kMs;
  switch (verdict.kind) {
    case Verdict::Kind::kRequeued:
      Log(events::LogLevel::kInfo, v, "attempt " + std::to_string(v.attempts) + " never started; queued again");
      return;
    case Verdict::Kind::kSucceeded: {
      ++stats_.succeeded;
      v.state = State::kSucceeded;
      v.finished_ns = r.finished_ns;
      Log(events::LogLevel::kInfo, v, "succeeded in " + std::to_string(ms) + " ms", "", ms);
      auto fn = functions_->find(v.function);
      if (fn != functions_->end() && fn->second.on_success) SendToDestination(v, *fn->second.on_success, true);
      return;
    }
    case Verdict::Kind::kRetry:
      ++stats_.failed_attempts;
      Log(events::LogLevel::kWarning, v,
          "attempt " + std::to_string(v.attempts) + " failed: " + r.error + "; retry " +
              std::to_string(verdict.retry) + " of " + std::to_string(v.max_retries) + " in " +
              std::to_string(verdict.delay_ns / kMs) + " ms",
          r.error, ms);
      return;
    case Verdict::Kind::kDead:
      ++stats_.failed_attempts;
      v.state = State::kDead;
      v.error = verdict.error;
      v.finished_ns = env_.clock().NowNanos();
      Dead(v);
      return;
  }
}

void Runner::Dead(const Invocation& v) {
  ++stats_.dead;
  stats_.last_error = (v.function.empty() ? v.target : v.function) + " " + v.id + ": " + v.error;
  Log(events::LogLevel::kError, v, "dead: " + v.error, v.error);
  DeadLetter(v);
  auto fn = functions_->find(v.function);
  if (fn != functions_->end() && fn->second.on_failure) SendToDestination(v, *fn->second.on_failure, false);
}

void Runner::OnChildExit() {
  Collect();
  Dispatch();
  Flush();
}

Status Runner::Recover() {
  ASSIGN_OR_RETURN(auto rows, queue_.LoadActive());
  std::map<std::string, int> traces = exec_->Traces();
  int reattached = 0, collected = 0;
  for (auto& v : rows) {
    auto t = traces.find(v.id);
    int latest = t == traces.end() ? 0 : t->second;
    bool was_running = v.state == State::kRunning;
    // A trace newer than what the queue knows, or the one of the attempt
    // the queue says is running, has the truth about that attempt; its end
    // comes through Collect.
    if (latest > 0 && (latest > v.attempts || (latest == v.attempts && was_running))) {
      v.attempts = latest;
      int64_t n = v.n;
      std::string id = v.id;
      int64_t started = v.started_ns;
      plan_.AdoptRunning(std::move(v));
      running_[n] = exec_.get();
      if (!exec_->Reattach(n, id, latest, started)) {
        ++collected;  // finished while bucketd was down, or cut off
        continue;
      }
      ++reattached;
      Log(events::LogLevel::kInfo, plan_.Get(n),
          "re-attached to attempt " + std::to_string(latest) + ", still running under its supervisor");
      continue;
    }
    if (was_running) {
      // A built-in stage (or an attempt that never got its run directory)
      // was cut off by bucketd's own stop.
      AttemptResult r;
      r.n = v.n;
      r.outcome = "interrupted";
      r.error = "bucketd stopped while the attempt ran";
      r.started_ns = v.started_ns;
      r.finished_ns = env_.clock().NowNanos();
      plan_.AdoptRunning(std::move(v));
      Complete(r);
      continue;
    }
    plan_.Admit(std::move(v));
  }
  Collect();
  // Everything queued so far is loaded; only rows inserted from now on are new.
  ASSIGN_OR_RETURN(auto newest, queue_.Find(RunQuery{"", std::nullopt, 0, "", 1}));
  if (!newest.empty()) last_n_ = std::max(last_n_, newest.front().n);
  if (options_.log && (!rows.empty())) {
    options_.log(events::LogLevel::kInfo, {},
                 "runner: " + std::to_string(rows.size()) + " unfinished invocation(s) at start; " +
                     std::to_string(reattached) + " re-attached, " + std::to_string(collected) +
                     " collected");
  }
  Dispatch();
  Flush();
  return Status::OK();
}

int64_t Runner::OnTick() {
  int64_t now = env_.clock().NowNanos();
  CheckStall(now);
  Collect();
  if (now >= next_expiry_ns_) {
    next_expiry_ns_ = now + 3600 * kNanosPerSecond;
    ExpireTraces(now);
  }
  LoadNew();
  Dispatch();
  Flush();
  int64_t wait = INT64_MAX;
  for (Executor* ex : {exec_.get(), builtin_.get(), lambda_.get()}) {
    int64_t next = ex->NextCollectNs(now);
    if (next != INT64_MAX) wait = std::min(wait, std::max<int64_t>(0, next - now));
  }
  if (!stalled_ && plan_.NextReadyNs() != INT64_MAX && !plan_.AtWorkerLimit()) {
    wait = std::min(wait, std::max<int64_t>(0, plan_.NextReadyNs() - now));
  }
  if (stalled_) wait = std::min(wait, std::max<int64_t>(0, next_stall_check_ns_ - now));
  return wait;
}

void Runner::Flush() {
  if (stalled_) return;  // CheckStall saves once the state directory takes writes again
  (void)Save();
}

Status Runner::Save() {
  std::map<int64_t, Invocation> dirty = plan_.TakeDirty();
  if (dirty.empty() && attempts_to_save_.empty()) return Status::OK();
  // No fsync here: an exec attempt's outcome is durable in its run
  // directory, a built-in stage may run again after a power cut (it is told
  // its invocation id), and the next trail append makes these durable too.
  auto save = [this, &dirty]() -> Status {
    ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(queue_.db(), Transaction::Durability::kRelaxed));
    for (const auto& [n, v] : dirty) RETURN_IF_ERROR(queue_.UpdateState(v));
    for (const auto& a : attempts_to_save_) RETURN_IF_ERROR(queue_.AddAttempt(a));
    return txn.Commit();
  };
  Status s = save();
  if (!s.ok()) {
    plan_.KeepDirty(std::move(dirty));
    Stall(s);
    return s;
  }
  attempts_to_save_.clear();
  return Status::OK();
}

Result<int> Runner::Redrive(const std::vector<std::string>& ids) {
  std::vector<Invocation> dead;
  if (ids.empty()) {
    RunQuery q;
    q.state = State::kDead;
    q.limit = 1'000'000;
    ASSIGN_OR_RETURN(dead, queue_.Find(q));
    std::reverse(dead.begin(), dead.end());  // oldest first, as they were queued
  } else {
    for (const auto& id : ids) {
      ASSIGN_OR_RETURN(auto v, queue_.Get(id));
      if (!v) return Status::NotFound("no invocation " + id);
      if (v->state != State::kDead) {
        return Status::InvalidArgument("invocation " + id + " is " + std::string(StateName(v->state)) +
                                       ", not dead");
      }
      dead.push_back(*v);
    }
  }
  for (auto& v : dead) {
    Log(events::LogLevel::kInfo, v, "redriven from the dead-letter list");
    plan_.Redrive(std::move(v));
  }
  Dispatch();
  Flush();
  return static_cast<int>(dead.size());
}

Result<std::string> Runner::Cancel(const std::string& id) {
  ASSIGN_OR_RETURN(auto row, queue_.Get(id));
  if (!row) return Status::NotFound("no invocation " + id);
  if (plan_.Has(row->n)) {
    int64_t n = row->n;
    const Invocation& active = plan_.Get(n);
    std::string was(StateName(active.state));
    auto run = running_.find(n);
    if (run != running_.end()) {
      run->second->Cancel(n);
      running_.erase(run);
      // The attempt ends here for `runs show` (its supervisor's late end is nobody's).
      attempts_to_save_.push_back({active.id, active.attempts, active.started_ns, env_.clock().NowNanos(), "cancelled",
                                   "cancelled (bucketctl runs cancel)"});
    }
    Invocation v = active;  // the entry goes with the cancel
    plan_.Cancel(n, "cancelled (bucketctl runs cancel) while " + was);
    Log(events::LogLevel::kWarning, v, "cancelled while " + was + "; no more attempts");
    Dispatch();
    Flush();
    return was;
  }
  return Status::InvalidArgument("invocation " + id + " is " + std::string(StateName(row->state)) +
                                    ": nothing to cancel");
}

void Runner::DeadLetter(const Invocation& v) {
  if (v.dead_letter.empty()) return;
  auto dest = ParseDestination(v.dead_letter);
  if (!dest.ok() || dest->bucket.empty()) {
    Log(events::LogLevel::kWarning, v,
        "DeadLetterConfig.Arn '" + v.dead_letter +
            "' is not a store prefix (arn:aws:s3:::bucket/prefix); the dead invocation is kept in "
            "'bucketctl dlq list' only");
    return;
  }
  nlohmann::json rec = {{"invocationId", v.id},
                        {"rule", v.rule},
                        {"target", v.target},
                        {"function", v.function},
                        {"event", JsonOrString(v.event_json)},
                        {"input", v.input_error.empty() ? JsonOrString(v.input) : nlohmann::json()},
                        {"attempts", v.attempts},
                        {"lastError", v.error},
                        {"time", FormatRfc3339Millis(v.finished_ns)},
                        {"chain", v.chain},
                        {"hop", v.hop}};
  store::PutOptions o;
  o.content_type = "application/json";
  o.private_object = true;  // it carries the event and the input
  o.user_metadata[events::kChainMetadata] = v.chain + ":" + std::to_string(v.hop);
  std::string key = dest->prefix + v.id + "." + std::to_string(v.attempts) + ".json";
  auto put = store_.PutObjectFromString(dest->bucket, key, rec.dump(2) + "\n", o);
  if (!put.ok()) {
    Log(events::LogLevel::kError, v, "cannot write the dead-letter record s3://" + dest->bucket + "/" + key +
                                          ": " + put.status().message(),
        put.status().message());
  }
}

void Runner::SendToDestination(const Invocation& v, const Destination& d, bool success) {
  // Lambda's invocation record, so a notifier written for Lambda
  // destinations reads it unchanged.
  nlohmann::json rec = {
      {"version", "1.0"},
      {"timestamp", FormatRfc3339Millis(v.finished_ns)},
      {"requestContext",
       {{"requestId", v.id},
        {"functionArn", "arn:aws:lambda:" + options_.identity.region + ":" + options_.identity.account +
                            ":function:" + v.function + ":$LATEST"},
        {"condition", success ? "Success" : v.attempts > v.max_retries ? "RetriesExhausted" : "EventAgeExceeded"},
        {"approximateInvokeCount", v.attempts}}},
      {"requestPayload", JsonOrString(v.input)},
      {"responseContext",
       {{"statusCode", 200}, {"executedVersion", "$LATEST"}}},
      // The handler's return value, or its runtime's error document.
      {"responsePayload", !v.response.empty() ? JsonOrString(v.response)
                          : success           ? nlohmann::json()
                                              : nlohmann::json{{"errorMessage", v.error}}},
      {"bucketd", {{"rule", v.rule}, {"target", v.target}, {"bucket", v.bucket}, {"key", v.key},
                   {"chain", v.chain}, {"hop", v.hop}}}};
  if (!success) rec["responseContext"]["functionError"] = "Unhandled";
  std::string text = rec.dump(2) + "\n";
  if (!d.bucket.empty()) {
    store::PutOptions o;
    o.content_type = "application/json";
    o.private_object = true;  // it carries the event and the input
    o.user_metadata[events::kChainMetadata] = v.chain + ":" + std::to_string(v.hop);
    std::string key = d.prefix + v.function + "/" + v.id + (success ? ".success" : ".failure") + ".json";
    auto put = store_.PutObjectFromString(d.bucket, key, text, o);
    if (!put.ok()) {
      Log(events::LogLevel::kError, v, "cannot write the destination record s3://" + d.bucket + "/" + key +
                                            ": " + put.status().message(),
          put.status().message());
    }
    return;
  }
  Invocation n;
  n.rule = v.rule;
  n.target = std::string(success ? "OnSuccess" : "OnFailure");
  n.function = d.function;
  n.arn = d.arn;
  n.bucket = v.bucket;
  n.key = v.key;
  n.event_id = v.id;
  n.event_json = text;
  n.input = text;
  n.created_ns = n.age_base_ns = env_.clock().NowNanos();
  n.max_retries = rules::kLambdaAsyncRetries;  // Lambda's for asynchronous invocations
  n.max_age_seconds = rules::kLambdaAsyncMaxAgeSeconds;
  if (const Function* fn = FindFunction(d.function)) {
    std::tie(n.max_retries, n.max_age_seconds) = fn->ErrorPolicy(n.max_retries, n.max_age_seconds);
  }
  n.chain = v.chain;
  n.hop = v.hop + 1;
  n.origin = "destination";
  n.id = InvocationId({"destination", v.id, std::to_string(v.attempts), n.target});
  Status s = queue_.Insert(n);
  if (!s.ok()) Log(events::LogLevel::kError, v, "cannot queue the destination " + d.arn + ": " + s.message(), s.message());
}

void Runner::ExpireTraces(int64_t now) {
  std::set<std::string> active;
  for (const auto& [n, v] : plan_.active()) active.insert(v.id);
  exec_->ExpireTraces(now, options_.run_retention_ns, [&](const std::string& id) -> std::optional<int64_t> {
    if (active.count(id)) return std::nullopt;
    auto v = queue_.Get(id);
    if (!v.ok() || (*v && !IsTerminal((*v)->state))) return std::nullopt;
    return *v ? (*v)->finished_ns : 0;
  });
}

}  // namespace bucketd::runner
