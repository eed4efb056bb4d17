// What every bench program does when a step it measures fails: say which
// and stop (a figure from a broken run is worse than none).
#ifndef BUCKETD_BENCH_BENCH_CHECK_H_
#define BUCKETD_BENCH_BENCH_CHECK_H_

#include <errno.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace bucketd::bench {

inline void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
    std::exit(1);
  }
}

// A shell command's standard output; stops the bench when it fails.
inline std::string Output(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  Check(p != nullptr, "popen " + cmd);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  Check(::pclose(p) == 0, "failed: " + cmd + (out.empty() ? "" : ": " + out));
  return out;
}

}  // namespace bucketd::bench

#endif  // BUCKETD_BENCH_BENCH_CHECK_H_
