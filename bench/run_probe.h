// The baselines' way of starting the probe target: posix_spawn with the
// file's name on its stdin (as bucketd gives an exec target its input), then
// wait for it. Shared by the benches that race bucketd against a raw loop.
#ifndef BUCKETD_BENCH_RUN_PROBE_H_
#define BUCKETD_BENCH_RUN_PROBE_H_

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

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

}  // namespace bucketd::bench

#endif  // BUCKETD_BENCH_RUN_PROBE_H_
