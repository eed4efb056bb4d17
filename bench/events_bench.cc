// Event-plane benchmarks (issue 3). Prints its figures; bench/RESULTS.md keeps them.
//
//   events_bench [--dir DIR] [--trials N] [--burst N]
//
// 1. close() -> durable: a writer closes a new file; the time until the
//    event plane's sink receives its record (appended and fsync'd), one file
//    at a time, N trials; p50/p99/max.
// 2. A burst of N files across 100 new directories written as fast as one
//    thread can: records/s and lost count for bucketd, and in the same run
//    for inotifywait -m -r (inotify-tools) watching the same tree.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_check.h"
#include "events/event_plane.h"

using namespace bucketd;
using bucketd::bench::Check;
using SteadyClock = std::chrono::steady_clock;
extern char** environ;

namespace {

// Records as they become durable, with the time they did.
class TimingSink {
 public:
  void Add(const std::vector<events::TrailRecord>& records) {
    auto now = SteadyClock::now();
    std::lock_guard<std::mutex> l(mu);
    for (const auto& r : records) {
      keys.insert(r.change.key);
      last = now;
    }
    count += records.size();
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> keys;
  size_t count = 0;
  SteadyClock::time_point last;
};

void WriteFile(const std::string& path, bool timed, SteadyClock::time_point* before_close) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  Check(fd >= 0, "open " + path);
  Check(::write(fd, "payload\n", 8) == 8, "write");
  if (timed) *before_close = SteadyClock::now();
  ::close(fd);
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/var/tmp/bucketd-events-bench";
  int trials = 1000, burst = 100000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--dir") dir = argv[i + 1];
    else if (f == "--trials") trials = std::atoi(argv[i + 1]);
    else if (f == "--burst") burst = std::atoi(argv[i + 1]);
    else Check(false, "unknown flag " + f);
  }
  Check(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "/state'").c_str()) == 0, "mkdir");
  auto store = store::Store::Open(Env::Default(), dir + "/root");
  Check(store.ok(), store.status().ToString());
  Check((*store)->CreateBucket("bench").ok(), "bucket");
  auto trail = events::Trail::Open(Env::Default(), dir + "/state");
  Check(trail.ok(), trail.status().ToString());
  auto watcher = events::NewInotifyWatcher();
  TimingSink sink;
  events::EventPlane plane(Env::Default(), **store, **trail, *watcher, {});
  Check(plane.Start().ok(), "start");
  Check(events::RecordPending(plane, **trail).ok(), "catch-up");
  std::atomic<bool> stop{false};
  std::thread loop([&] {
    while (!stop) {
      struct pollfd p = {plane.wake_fd(), POLLIN, 0};
      int64_t wait = plane.OnTick();
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(wait / 1000000 + 1, 50)));
      if (p.revents & POLLIN) (void)plane.ProcessHints();
      auto records = events::RecordPending(plane, **trail);
      if (records.ok()) sink.Add(*records);
    }
  });
  std::string bucket = dir + "/root/buckets/bench";

  // 1. close -> durable latency.
  std::vector<double> lat;
  for (int i = 0; i < trials; ++i) {
    SteadyClock::time_point before_close;
    size_t want;
    {
      std::lock_guard<std::mutex> l(sink.mu);
      want = sink.count + 1;
    }
    WriteFile(bucket + "/lat-" + std::to_string(i), true, &before_close);
    std::unique_lock<std::mutex> l(sink.mu);
    Check(sink.cv.wait_for(l, std::chrono::seconds(10), [&] { return sink.count >= want; }),
          "record did not arrive");
    lat.push_back(Ms(sink.last - before_close));
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat[static_cast<size_t>(p * (lat.size() - 1))]; };
  std::printf("close->durable record, %d trials: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", trials,
              pct(0.5), pct(0.99), lat.back());

  // 2. burst, with inotifywait on the same tree.
  std::string burst_root = bucket + "/burst";
  Check(::mkdir(burst_root.c_str(), 0755) == 0, "mkdir burst");
  int pipefd[2];
  Check(::pipe(pipefd) == 0, "pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {"/usr/bin/inotifywait", "-m", "-r", "-q", "-e", "close_write",
                                   "--format", "%w%f", burst_root};
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t iw;
  Check(posix_spawn(&iw, args[0].c_str(), &fa, nullptr, cargs.data(), environ) == 0,
        "start inotifywait (install inotify-tools)");
  ::close(pipefd[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // its watches are set
  std::atomic<size_t> iw_lines{0};
  SteadyClock::time_point iw_last;
  std::thread reader([&] {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(pipefd[0], buf, sizeof(buf));
      if (n <= 0) return;
      iw_lines += static_cast<size_t>(std::count(buf, buf + n, '\n'));
      iw_last = SteadyClock::now();
    }
  });
  size_t base;
  {
    std::lock_guard<std::mutex> l(sink.mu);
    base = sink.count;
  }
  auto t0 = SteadyClock::now();
  int per_dir = burst / 100;
  for (int d = 0; d < 100; ++d) {
    std::string sub = burst_root + "/d" + std::to_string(d);
    Check(::mkdir(sub.c_str(), 0755) == 0, "mkdir");
    for (int f = 0; f < per_dir; ++f) WriteFile(sub + "/f" + std::to_string(f), false, nullptr);
  }
  auto written = SteadyClock::now();
  size_t expected = static_cast<size_t>(per_dir) * 100;
  {
    std::unique_lock<std::mutex> l(sink.mu);
    sink.cv.wait_for(l, std::chrono::seconds(120), [&] { return sink.count - base >= expected; });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // late or doubled records would show
  size_t got, distinct = 0;
  SteadyClock::time_point last;
  {
    std::lock_guard<std::mutex> l(sink.mu);
    got = sink.count - base;
    for (const auto& k : sink.keys) distinct += k.rfind("burst/", 0) == 0;
    last = sink.last;
  }
  ::kill(iw, SIGTERM);
  ::waitpid(iw, nullptr, 0);
  reader.join();
  double secs = std::chrono::duration<double>(last - t0).count();
  double iw_secs = std::chrono::duration<double>(iw_last - t0).count();
  std::printf("burst of %zu files in 100 new directories, written in %.2f s:\n", expected,
              std::chrono::duration<double>(written - t0).count());
  std::printf("  bucketd:     %zu records (%zu distinct keys), %.0f records/s, lost %zd, "
              "doubled %zd, rescans %llu\n",
              got, distinct, got / secs, static_cast<ssize_t>(expected) - static_cast<ssize_t>(distinct),
              static_cast<ssize_t>(got) - static_cast<ssize_t>(distinct),
              static_cast<unsigned long long>(plane.stats().rescans));
  std::printf("  bucketd's last record came %.0f ms after the last file was closed\n",
              Ms(last - written));
  std::printf("  inotifywait: %zu lines, %.0f lines/s, lost %zd\n", iw_lines.load(),
              iw_lines.load() / iw_secs,
              static_cast<ssize_t>(expected) - static_cast<ssize_t>(iw_lines.load()));
  stop = true;
  loop.join();
  watcher->Stop();
  Check(std::system(("rm -rf '" + dir + "'").c_str()) == 0, "cleanup");
  return 0;
}
