// The baselines' way of starting the probe target: posix_spawn with the
// file's name on its stdin (as bucketd gives an exec target its input), then
// wait for it. Shared by the benches that race bucketd against a raw loop.
#ifndef BUCKETD_BENCH_RUN_PROBE_H_
#define BUCKETD_BENCH_RUN_PROBE_H_

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_check.h"

namespace bucketd::bench {

inline int64_t RealtimeNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The directory of this bench program (where the build put bucketd too).
inline std::string BinDir() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string p(self, static_cast<size_t>(n > 0 ? n : 0));
  return p.substr(0, p.rfind('/'));
}

inline void RunProbe(const std::string& probe, const std::string& input, char* const* envp) {
  int pipefd[2];
  Check(::pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0);
  pid_t pid;
  std::string program = probe;
  char* argv[] = {program.data(), nullptr};
  Check(posix_spawn(&pid, probe.c_str(), &fa, nullptr, argv, envp) == 0, "spawn " + probe);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[0]);
  (void)!::write(pipefd[1], input.data(), input.size());
  ::close(pipefd[1]);
  int st;
  ::waitpid(pid, &st, 0);
}

// The probe's stamp (MODE=stamp: the ns of its first instruction) at
// `path`, or 0 when it does not come within `ms`.
inline int64_t WaitStamp(const std::string& path, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[64] = {};
      ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ::close(fd);
      if (n > 0) return std::strtoll(buf, nullptr, 10);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return 0;
}

// The floors: watches `dir`; for each file renamed in, runs the probe
// (MODE=stamp, OUT=out) with `name_prefix` + the file's name on its stdin,
// until *stop. With a `log`, the name is appended to it and fdatasynced
// first: the durable floor, what any recorder-and-runner must at least do.
inline void FloorLoop(const std::string& dir, const std::string& log, const std::string& probe,
                      const std::string& out, const std::string& name_prefix, std::atomic<bool>* stop) {
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  inotify_add_watch(in, dir.c_str(), IN_MOVED_TO);
  int logfd = log.empty() ? -1 : ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<std::string> env = {"MODE=stamp", "OUT=" + out};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  alignas(struct inotify_event) char buf[8192];
  while (!*stop) {
    struct pollfd p = {in, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::read(in, buf, sizeof buf);
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      std::string name = name_prefix + ev->name;
      if (logfd >= 0) {
        std::string line = name + "\n";
        (void)!::write(logfd, line.data(), line.size());
        ::fdatasync(logfd);  // the record is durable before anything runs
      }
      RunProbe(probe, name, envp.data());
    }
  }
  if (logfd >= 0) ::close(logfd);
  ::close(in);
}

// A bucketd config under `cfg` (rules.d/ and functions.d/ must exist) whose
// rule runs the probe (MODE=stamp, OUT=out) for every key under lat/, the
// key on its stdin: the latency benches' one workload.
inline void WriteStampConfig(const std::string& cfg, const std::string& probe, const std::string& out) {
  std::ofstream(cfg + "/functions.d/stamp.json")
      << R"({"FunctionName":"Stamp","Runtime":"exec","Handler":")" + probe +
             R"(","Timeout":30,"Environment":{"Variables":{"MODE":"stamp","OUT":")" + out + R"("}}})";
  std::ofstream(cfg + "/rules.d/lat.json")
      << R"({"Name":"lat","EventPattern":{"source":["aws.s3"],"detail-type":["Object Created"],)"
         R"("detail":{"object":{"key":[{"prefix":"lat/"}]}}},"Targets":[{"Id":"t",)"
         R"("Arn":"arn:aws:lambda:local:000000000000:function:Stamp",)"
         R"("InputTransformer":{"InputPathsMap":{"k":"$.detail.object.key"},"InputTemplate":"<k>"}}]})";
}

}  // namespace bucketd::bench

#endif  // BUCKETD_BENCH_RUN_PROBE_H_
