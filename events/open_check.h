// Whether some process still has a file open for writing (Linux leases).
#ifndef BUCKETD_EVENTS_OPEN_CHECK_H_
#define BUCKETD_EVENTS_OPEN_CHECK_H_

#include <string>

namespace bucketd::events {

enum class OpenState { kClosed, kOpenForWriting, kUnknown };

// Tries to take a read lease on `path`: the kernel grants none while any
// process has the file open for writing. kUnknown when leases are not
// allowed here (not the file's owner and no CAP_LEASE, or a file system
// without leases); callers then fall back to the file's age.
OpenState CheckOpenForWriting(const std::string& path);

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_OPEN_CHECK_H_
