// Watchers turn file-system activity under the buckets directory into hints.
// A hint only says "look here"; the event plane decides what changed by
// comparing the disk with its index (STYLE.md §6: events are hints, a rescan
// is the truth).
//
// Thread-safety: Drain() and wake_fd() may be called from the main loop while
// the watcher's own thread produces hints.
#ifndef BUCKETD_EVENTS_WATCHER_H_
#define BUCKETD_EVENTS_WATCHER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace bucketd::events {

struct WatchHint {
  enum class Kind {
    kFile,          // a file entry changed: mask says how (IN_CLOSE_WRITE, IN_CREATE, …)
    kDirAppeared,   // a directory was created or moved in; it is watched already
    kDirGone,       // a directory was deleted or moved away
    kRescanAll,     // events were lost (queue overflow, a lost watch): rescan everything
    kWatchLimit,    // a directory could not be watched (max_user_watches)
  };
  Kind kind = Kind::kFile;
  std::string path;  // absolute; directories without a trailing '/'
  uint32_t mask = 0;
  // When the event was read (Unix ns; 0: unknown). A close is only proof
  // for a version no newer than this: a file written again after its close
  // was read (truncated in place, say) waits for its next close.
  int64_t read_ns = 0;
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  // Watches `root` recursively, except the absolute paths in `exclude` (and
  // everything below them). Returns once the watches are in place.
  virtual Status Start(const std::string& root, const std::vector<std::string>& exclude) = 0;
  // Readable while hints are waiting.
  virtual int wake_fd() const = 0;
  // Takes every waiting hint, oldest first, and clears wake_fd.
  virtual std::vector<WatchHint> Drain() = 0;
  virtual void Stop() = 0;
  // Directories watched now.
  virtual int watch_count() const = 0;
  // Test hook: while paused the watcher leaves events in the kernel's queue,
  // so a test can make it overflow.
  virtual void TEST_PauseReading(bool /*paused*/) {}
};

// libinotifytools on a thread of its own (the library keeps one global
// instance, so all its calls happen on that thread). Its descriptor is made
// close-on-exec so child processes never inherit it.
std::unique_ptr<Watcher> NewInotifyWatcher();

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_WATCHER_H_
