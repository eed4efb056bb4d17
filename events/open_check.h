// Whether some process still has a file open for writing (Linux leases).
#ifndef BUCKETD_EVENTS_OPEN_CHECK_H_
#define BUCKETD_EVENTS_OPEN_CHECK_H_

#include <string>

#include "common/unique_fd.h"

namespace bucketd::events {

enum class OpenState { kClosed, kOpenForWriting, kUnknown };

// A read lease on a file, held while a version of it is read. The kernel
// grants none while any process has the file open for writing; kUnknown
// when leases are not allowed here (not the file's owner and no CAP_LEASE,
// or a file system without leases): callers then fall back to the file's
// age. A check that lets
// go of the lease at once leaves a window: a writer whose open(O_CREAT) has
// made the file but not yet taken write access, or who opens it a moment
// later, is not seen, and the empty or old version read meanwhile looked
// whole (two records for a key written once, under load). Held, the lease
// makes such a writer's open wait until it is released, and tells us.
class ReadLease {
 public:
  explicit ReadLease(const std::string& path);
  ~ReadLease() = default;  // closing the descriptor releases the lease
  ReadLease(ReadLease&&) = default;
  ReadLease& operator=(ReadLease&&) = default;
  // When the lease was asked for: kClosed when it is held.
  OpenState state() const { return state_; }
  // Whether a writer has opened (or is opening) the file since the lease
  // was taken: the kernel is breaking it. False when none is held.
  bool Broken() const;

 private:
  UniqueFd fd_;
  OpenState state_ = OpenState::kUnknown;
};

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_OPEN_CHECK_H_
