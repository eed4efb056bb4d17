// Runner benchmarks (issue 5). Prints its figures; bench/RESULTS.md keeps them.
//
//   runner_bench [--dir DIR] [--invocations N] [--execs N] [--samples N]
//
// 1. Queue throughput: N invocations of the no-op built-in stage, queued in
//    transactions of 100 (as the trail's group commit queues them) and of 1,
//    until all succeeded: invocations/s.
// 2. Exec overhead: invocations of an exec target running /bin/true, one at
//    a time, queue to completion, against plain posix_spawn + waitpid of
//    /bin/true in the same run, in alternating rounds.
// 3. Latency from rename(2) of a file into a watched prefix to the first
//    instruction of its exec target's main(), through a real bucketd (event
//    plane, trail, rule, queue, supervisor), against a raw loop that watches
//    a directory with inotify and posix_spawns the same program for each
//    file, alternating sample by sample; p50/p99/max.
//
// Data lives under --dir (default /var/tmp/bucketd-runner-bench), on disk:
// the durable fsyncs are part of what is measured.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_check.h"
#include "bench/run_probe.h"
#include "events/trail.h"
#include "rules/router.h"
#include "runner/runner.h"
#include "store/store.h"

using namespace bucketd;
using bucketd::bench::Check;
using SteadyClock = std::chrono::steady_clock;
extern char** environ;

namespace {

using bucketd::bench::BinDir;
using bucketd::bench::RealtimeNs;


double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }


void Fresh(const std::string& dir) {
  Check(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()) == 0, "cannot make " + dir);
}

// A runner over a fresh trail database, driven like the daemon drives it.
struct Harness {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<events::Trail> trail;
  std::unique_ptr<runner::Runner> runner;
  int sigfd = -1;
  rules::Rule rule;
  int64_t next_event = 0;

  Harness(const std::string& dir, const runner::Function& fn, int workers) {
    Fresh(dir);
    ::mkdir((dir + "/state").c_str(), 0700);
    store = std::move(store::Store::Open(Env::Default(), dir + "/root")).value();
    trail = std::move(events::Trail::Open(Env::Default(), dir + "/state")).value();
    Check(runner::InvocationStore::CreateTables(trail->db()).ok(), "tables");
    runner::RunnerOptions o;
    o.state_dir = dir + "/state";
    o.supervisor = BinDir() + "/bucketd-supervisor";
    o.store_root = dir + "/root";
    o.workers = workers;
    runner = std::make_unique<runner::Runner>(Env::Default(), trail->db(), *store, o, runner::DefaultBuiltins());
    auto fns = std::make_shared<runner::FunctionSet>();
    (*fns)[fn.name] = fn;
    runner->SetFunctions(fns);
    rule.name = "bench";
    rules::Target t;
    t.id = "t";
    t.arn = "arn:aws:lambda:local:000000000000:function:" + fn.name;
    t.function = fn.name;
    rule.targets.push_back(t);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, nullptr);
    sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~Harness() {
    runner.reset();
    ::close(sigfd);
  }

  void Queue(int n) {
    auto txn = Transaction::Begin(runner->queue().db());
    Check(txn.ok(), "begin");
    std::vector<events::TrailRecord> records;
    records.reserve(static_cast<size_t>(n));
    std::vector<rules::Match> matches;
    for (int i = 0; i < n; ++i) {
      events::TrailRecord r;
      r.seq = ++next_event;
      r.event_id = "e" + std::to_string(r.seq);
      r.time_ns = RealtimeNs();
      r.change.bucket = "data";
      r.change.key = "k" + std::to_string(r.seq);
      records.push_back(r);
    }
    for (const auto& r : records) {
      matches.push_back(rules::Match{&rule, &rule.targets[0], &r, "{}", r.event_id, std::string("{}"), ""});
    }
    Check(runner->Enqueue(*txn, matches).ok(), "enqueue");
    Check(txn->Commit().ok(), "commit");
    runner->OnDurable();
  }

  // The daemon's loop: sleeps in poll until a child exits, a stage ends or
  // the runner's timer is due.
  void RunUntil(uint64_t succeeded) {
    while (runner->stats().succeeded + runner->stats().dead < succeeded) {
      int64_t wait = runner->OnTick();
      struct pollfd p[3] = {{sigfd, POLLIN, 0}, {runner->wake_fds()[0], POLLIN, 0}, {runner->wake_fds()[1], POLLIN, 0}};
      int ms = static_cast<int>(std::min<int64_t>(wait / 1'000'000 + 1, 100));
      ::poll(p, 3, ms);
      if (p[0].revents & POLLIN) {
        struct signalfd_siginfo si;
        while (::read(sigfd, &si, sizeof si) == sizeof si) {
        }
        runner->OnChildExit();
      }
    }
    Check(runner->stats().dead == 0, "an invocation died");
  }
};

void QueueThroughput(const std::string& dir, int n) {
  runner::Function noop;
  noop.name = "Noop";
  noop.runtime = runner::Runtime::kBuiltin;
  noop.handler = "noop";
  for (int batch : {100, 1}) {
    Harness h(dir + "/queue", noop, 2);
    auto t0 = SteadyClock::now();
    for (int done = 0; done < n; done += batch) {
      h.Queue(std::min(batch, n - done));
      h.runner->OnTick();
    }
    h.RunUntil(static_cast<uint64_t>(n));
    double s = Seconds(SteadyClock::now() - t0);
    std::printf("queue, no-op built-in, %d invocations queued %d per transaction: %.2f s, %.0f invocations/s\n", n,
                batch, s, n / s);
  }
}

double SpawnTrueMs(int n) {
  auto t0 = SteadyClock::now();
  for (int i = 0; i < n; ++i) {
    pid_t pid;
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    Check(posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) == 0, "spawn /bin/true");
    int st;
    ::waitpid(pid, &st, 0);
  }
  return Seconds(SteadyClock::now() - t0) * 1000 / n;
}

void ExecOverhead(const std::string& dir, int n) {
  runner::Function t;
  t.name = "True";
  t.runtime = runner::Runtime::kExec;
  t.handler = "/bin/true";
  t.timeout_seconds = 60;
  Harness h(dir + "/exec", t, 1);
  double runner_ms = 0, raw_ms = 0;
  constexpr int kRounds = 5;
  int per_round = std::max(1, n / kRounds);
  for (int round = 0; round < kRounds; ++round) {
    auto t0 = SteadyClock::now();
    for (int i = 0; i < per_round; ++i) {
      h.Queue(1);
      h.RunUntil(h.runner->stats().succeeded + 1);
    }
    runner_ms += Seconds(SteadyClock::now() - t0) * 1000 / per_round / kRounds;
    raw_ms += SpawnTrueMs(per_round) / kRounds;
  }
  std::printf("exec /bin/true, one at a time (%d): runner %.2f ms per invocation (queue to result), "
              "posix_spawn+waitpid %.2f ms; overhead %.2f ms, ratio %.2f\n",
              per_round * kRounds, runner_ms, raw_ms, runner_ms - raw_ms, runner_ms / raw_ms);
}

struct Percentiles {
  double p50, p99, max;
};

Percentiles Of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))]; };
  return {at(0.5), at(0.99), v.back()};
}

void WriteText(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  Check(f != nullptr, "write " + path);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

void Latency(const std::string& dir, int samples) {
  std::string base = dir + "/latency", root = base + "/root", cfg = base + "/cfg", out = base + "/out";
  Fresh(base);
  for (const auto& d : {cfg, cfg + "/rules.d", cfg + "/functions.d", out, base + "/incoming", base + "/raw"}) {
    ::mkdir(d.c_str(), 0755);
  }
  std::string probe = BinDir() + "/runner_probe";
  Check(::access(probe.c_str(), X_OK) == 0, probe + " is missing (build the tests too)");
  bucketd::bench::WriteStampConfig(cfg, probe, out);
  std::string bucketctl = BinDir() + "/bucketctl";
  Check(std::system((bucketctl + " --root " + root + " mb s3://data >/dev/null").c_str()) == 0, "mb");
  ::mkdir((root + "/buckets/data/lat").c_str(), 0755);
  pid_t daemon;
  std::string cmd = "exec " + BinDir() + "/bucketd --root " + root + " --config-dir " + cfg + " 2>" + base + "/bucketd.log";
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, cmd.data(), nullptr};
  Check(posix_spawn(&daemon, "/bin/sh", nullptr, nullptr, argv, environ) == 0, "start bucketd");
  std::this_thread::sleep_for(std::chrono::seconds(1));

  // The raw loop: inotify on one directory, posix_spawn per moved-in file,
  // the file's name on the program's stdin (as bucketd gives the key).
  std::atomic<bool> stop{false};
  std::string raw_dir = base + "/raw";
  std::thread raw([&] { bench::FloorLoop(raw_dir, "", probe, out, "raw/", &stop); });

  std::vector<double> ours, theirs;
  for (int i = 0; i < samples; ++i) {
    for (int which = 0; which < 2; ++which) {
      std::string name = "s" + std::to_string(i);
      std::string src = base + "/incoming/" + name;
      WriteText(src, "sample\n");
      std::string dst = which == 0 ? root + "/buckets/data/lat/" + name : raw_dir + "/" + name;
      std::string stamp = out + "/" + (which == 0 ? "lat_" : "raw_") + name + ".stamp";
      int64_t t0 = RealtimeNs();
      Check(::rename(src.c_str(), dst.c_str()) == 0, "rename");
      int64_t t1 = bench::WaitStamp(stamp, 5000);
      Check(t1 != 0, "no stamp for " + dst + " (see " + base + "/bucketd.log)");
      (which == 0 ? ours : theirs).push_back(static_cast<double>(t1 - t0) / 1e6);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  stop = true;
  raw.join();
  ::kill(daemon, SIGTERM);
  int st;
  ::waitpid(daemon, &st, 0);
  Percentiles a = Of(ours), b = Of(theirs);
  std::printf("rename -> target's first instruction, %d samples each:\n", samples);
  std::printf("  bucketd (event plane, trail fsync, rule, queue, supervisor): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              a.p50, a.p99, a.max);
  std::printf("  raw inotify + posix_spawn loop:                              p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              b.p50, b.p99, b.max);
  std::printf("  ratio p99 %.2f (gate 1.5, goal 1.3), p50 %.2f\n", a.p99 / b.p99, a.p50 / b.p50);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/var/tmp/bucketd-runner-bench";
  int invocations = 5000, execs = 300, samples = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--invocations") invocations = std::atoi(argv[i + 1]);
    else if (a == "--execs") execs = std::atoi(argv[i + 1]);
    else if (a == "--samples") samples = std::atoi(argv[i + 1]);
    else Check(false, "unknown flag " + a);
  }
  QueueThroughput(dir, invocations);
  ExecOverhead(dir, execs);
  Latency(dir, samples);
  return 0;
}
