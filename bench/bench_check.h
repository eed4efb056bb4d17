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

}  // namespace bucketd::bench

#endif  // BUCKETD_BENCH_BENCH_CHECK_H_
