#include "runner/builtin_executor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace bucketd::runner {

BuiltinExecutor::BuiltinExecutor(Clock& clock, store::Store& store, const BuiltinRegistry& builtins,
                                 BuiltinOptions options)
    : clock_(clock), store_(store), builtins_(builtins), options_(std::move(options)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  int threads = std::max(1, options_.workers);
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

BuiltinExecutor::~BuiltinExecutor() {
  (void)Drain();
  Stop();
}

// A stage that throws fails its attempt; it must not take bucketd down.
Status BuiltinExecutor::RunStage(Job& job) {
  if (job.stage == nullptr) return Status::NotFound("the built-in stage is gone");
  try {
    return (*job.stage)(*job.ctx);
  } catch (const std::exception& e) {
    return Status::IOError(std::string("the stage threw an exception: ") + e.what());
  } catch (...) {
    return Status::IOError("the stage threw an exception");
  }
}

Status BuiltinExecutor::Start(const Attempt& a, bool) {
  const Invocation& v = a.invocation;
  Run run{a.deadline_ns, std::make_shared<std::atomic<bool>>(false)};
  auto ctx = std::make_shared<StageContext>();
  ctx->invocation_id = v.id;
  ctx->attempt = a.number();
  ctx->deadline_ns = a.deadline_ns;
  ctx->input = v.input;
  ctx->event_json = v.event_json;
  ctx->chain = a.chain;
  ctx->store = &store_;
  ctx->state_dir = options_.state_dir;
  ctx->config_dir = options_.config_dir;
  ctx->cancelled = run.cancelled.get();
  if (options_.log) {
    // What a log line is tagged with, without the input and the event
    // (copying those for every progress line's sake would be waste).
    Invocation tag;
    tag.id = v.id;
    tag.rule = v.rule;
    tag.target = v.target;
    tag.function = v.function;
    tag.bucket = v.bucket;
    tag.key = v.key;
    tag.attempts = a.number();
    ctx->log = [log = options_.log, tag = std::move(tag)](const std::string& line) { log(tag, line); };
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return Status::Unavailable("bucketd is stopping");
    jobs_.push_back({a.n, builtins_.Find(a.function.handler), std::move(ctx)});
  }
  runs_[a.n] = std::move(run);
  cv_.notify_one();
  return Status::OK();
}

void BuiltinExecutor::Drop(int64_t n) { runs_.erase(n); }

ExecutorReport BuiltinExecutor::Collect(int64_t now) {
  uint64_t ignored;
  (void)!::read(wake_.get(), &ignored, sizeof ignored);
  std::vector<Done> done;
  {
    std::lock_guard<std::mutex> l(mu_);
    done.swap(done_);
  }
  ExecutorReport report;
  for (auto& d : done) {
    auto run = runs_.find(d.n);
    if (run == runs_.end()) continue;
    bool late = d.finished_ns > run->second.deadline_ns;
    AttemptResult r;
    r.n = d.n;
    r.ok = d.status.ok() && !late;
    r.outcome = r.ok ? "succeeded" : late ? "timed out" : "failed";
    r.error = late ? "timed out (function Timeout)" : d.status.ok() ? "" : d.status.message();
    r.permanent = d.permanent && !late;
    r.started_ns = d.started_ns;
    r.finished_ns = d.finished_ns;
    report.ended.push_back(std::move(r));
    runs_.erase(run);
  }
  for (auto& [n, run] : runs_) {
    if (now > run.deadline_ns) *run.cancelled = true;
  }
  return report;
}

int64_t BuiltinExecutor::NextCollectNs(int64_t now) const {
  int64_t next = INT64_MAX;
  for (const auto& [n, run] : runs_) {
    if (!*run.cancelled) next = std::min(next, std::max(now, run.deadline_ns + 1));
  }
  return next;
}

std::vector<int64_t> BuiltinExecutor::Drain() {
  std::deque<Job> never_started;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;  // workers take no new job
    never_started.swap(jobs_);
  }
  cv_.notify_all();
  std::vector<int64_t> out;
  for (const auto& job : never_started) {
    runs_.erase(job.n);
    out.push_back(job.n);
  }
  return out;
}

void BuiltinExecutor::Stop() {
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void BuiltinExecutor::WorkerLoop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    int64_t start = clock_.NowNanos();
    Status s = RunStage(job);
    int64_t end = clock_.NowNanos();
    bool permanent = !s.ok() && job.ctx->permanent_failure;
    {
      std::lock_guard<std::mutex> l(mu_);
      done_.push_back({job.n, std::move(s), permanent, start, end});
    }
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
}

}  // namespace bucketd::runner
