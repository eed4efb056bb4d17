// A huge sparse file in a bucket (issue 13, item 2): `truncate -s 20G`
// costs an uploader nothing and once held bucketd's main loop for the whole
// MD5 (67 s: status timed out, the watchdog pings were 67 s apart, READY
// waited for it). This starts a real bucketd on such a store, as systemd
// would (NOTIFY_SOCKET, WATCHDOG_USEC), and measures while it hashes: the
// time to READY, every `bucketctl status` round trip, the gaps between
// watchdog pings, and when the file's record lands. The floor, in the same
// run: md5sum of the same file.
//   hash_bench [--gib N] [--dir DIR]     (default 20 GiB in /var/tmp)
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_check.h"

namespace {

using bucketd::bench::Check;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

using bucketd::bench::Output;

std::string BinDir() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  Check(n > 0, "readlink /proc/self/exe");
  std::string p(self, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

}  // namespace

int main(int argc, char** argv) {
  long gib = 20;
  std::string dir = "/var/tmp/bucketd-hash-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--gib") == 0) gib = std::atol(argv[i + 1]);
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
  }
  std::string bin = BinDir();
  std::string ctl = bin + "/bucketctl --root " + dir + "/root --state-dir " + dir + "/state";
  Check(std::system(("rm -rf " + dir + " && mkdir -p " + dir + "/state").c_str()) == 0, "make " + dir);
  Output(ctl + " mb s3://data");
  std::string big = dir + "/root/buckets/data/huge.bin";
  Check(std::system(("truncate -s " + std::to_string(gib) + "G " + big + " && touch -d 2026-01-01 " + big).c_str()) == 0,
        "truncate");

  auto floor_start = Clock::now();
  std::string md5 = Output("md5sum " + big).substr(0, 32);
  double floor_s = Since(floor_start);

  std::string notify_path = dir + "/notify.sock";
  int notify = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", notify_path.c_str());
  Check(::bind(notify, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind " + notify_path);
  timeval tv{0, 200'000};
  ::setsockopt(notify, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  constexpr long kWatchdogUsec = 1'000'000;  // pings every 0.5 s
  auto start = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("NOTIFY_SOCKET", notify_path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", std::to_string(kWatchdogUsec).c_str(), 1);
    std::string log = dir + "/bucketd.log";
    std::freopen(log.c_str(), "w", stderr);
    ::execl((bin + "/bucketd").c_str(), "bucketd", "--root", (dir + "/root").c_str(), "--state-dir",
            (dir + "/state").c_str(), "--socket", (dir + "/state/control.sock").c_str(), nullptr);
    _exit(127);
  }
  std::atomic<bool> stop{false};
  std::mutex mu;
  double ready_s = -1, max_gap_s = 0;
  int pings = 0;
  std::thread listener([&] {
    double last_ping = -1;
    char buf[4096];
    while (!stop) {
      ssize_t n = ::recv(notify, buf, sizeof buf - 1, 0);
      if (n <= 0) continue;
      std::string msg(buf, static_cast<size_t>(n));
      double t = Since(start);
      std::lock_guard<std::mutex> l(mu);
      if (msg.find("READY=1") != std::string::npos && ready_s < 0) ready_s = t;
      if (msg.find("WATCHDOG=1") != std::string::npos) {
        if (last_ping >= 0) max_gap_s = std::max(max_gap_s, t - last_ping);
        last_ping = t;
        ++pings;
      }
    }
  });
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (ready_s >= 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<double> status_ms;
  double recorded_s = -1;
  std::string record;
  while (Since(start) < 3600) {
    auto t = Clock::now();
    Output(ctl + " status >/dev/null");
    status_ms.push_back(Since(t) * 1000);
    std::string tail = Output(ctl + " events tail --bucket data");
    size_t at = tail.find("s3://data/huge.bin ");
    if (at != std::string::npos) {
      recorded_s = Since(start);
      record = tail.substr(at, tail.find('\n', at) - at);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The same round trip with nothing to hash: what status costs anyway
  // (bucketctl's own start included).
  std::vector<double> idle_ms;
  for (int i = 0; i < 20; ++i) {
    auto t = Clock::now();
    Output(ctl + " status >/dev/null");
    idle_ms.push_back(Since(t) * 1000);
  }
  std::sort(idle_ms.begin(), idle_ms.end());
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  stop = true;
  listener.join();
  Check(recorded_s > 0, "the file was never recorded");
  Check(record.find(md5) != std::string::npos, "recorded ETag differs from md5sum's: " + record + " vs " + md5);
  std::sort(status_ms.begin(), status_ms.end());
  double gib_bytes = static_cast<double>(gib) * (1 << 30);
  std::printf("file: %ld GiB sparse (truncate -s), md5 %s\n", gib, md5.c_str());
  std::printf("floor  md5sum of the file:                 %.1f s (%.0f MB/s)\n", floor_s, gib_bytes / floor_s / 1e6);
  std::printf("bucketd start -> READY=1:                  %.3f s\n", ready_s);
  std::printf("bucketd start -> record in the trail:      %.1f s (%.0f MB/s, %.2fx md5sum's time)\n", recorded_s,
              gib_bytes / recorded_s / 1e6, recorded_s / floor_s);
  std::printf("bucketctl status while hashing: %zu calls, p50 %.1f ms, max %.1f ms\n", status_ms.size(),
              status_ms[status_ms.size() / 2], status_ms.back());
  std::printf("bucketctl status when idle:     %zu calls, p50 %.1f ms, max %.1f ms\n", idle_ms.size(),
              idle_ms[idle_ms.size() / 2], idle_ms.back());
  std::printf("watchdog pings: %d, largest gap %.3f s (period %.1f s)\n", pings, max_gap_s, kWatchdogUsec / 2e6);
  ::unlink(notify_path.c_str());
  return std::system(("rm -rf " + dir).c_str()) == 0 ? 0 : 1;
}
