// Exit statuses of child processes reaped by one executor for another.
// The supervised executor reaps every child (waitpid(-1)) so that no
// zombie is left; a Lambda execution environment is a child too, and its
// executor, which watches it through a pidfd, takes its status here.
// Thread-safe.
#ifndef BUCKETD_RUNNER_REAPED_H_
#define BUCKETD_RUNNER_REAPED_H_

#include <sys/types.h>

#include <optional>

namespace bucketd::runner {

// Keeps the wait status of `pid`, reaped by someone it does not belong to.
void NoteReaped(pid_t pid, int wait_status);
// The wait status kept for `pid`, once; nothing when none is.
std::optional<int> TakeReaped(pid_t pid);

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_REAPED_H_
