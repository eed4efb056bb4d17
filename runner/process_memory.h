// How much memory a Lambda execution environment holds, read from /proc:
// what MemorySize is enforced against and what REPORT's "Max Memory Used"
// says. Resident memory, not address space: numpy's and OpenBLAS's large
// untouched reservations cost nothing here, as in Lambda's own accounting.
//
// Thread-safety: stateless.
#ifndef BUCKETD_RUNNER_PROCESS_MEMORY_H_
#define BUCKETD_RUNNER_PROCESS_MEMORY_H_

#include <sys/types.h>

#include <cstdint>

namespace bucketd::runner {

// The process's peak resident set (VmHWM), KiB; 0 when it is gone.
int64_t PeakRssKb(pid_t pid);

// The resident sets of the process and all its descendants now, KiB.
int64_t TreeRssKb(pid_t pid);

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_PROCESS_MEMORY_H_
