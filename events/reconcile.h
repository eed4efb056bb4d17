// Reconciliation: the difference between the objects on disk and the index
// of what was recorded. Pure, so it is tested without a file system.
#ifndef BUCKETD_EVENTS_RECONCILE_H_
#define BUCKETD_EVENTS_RECONCILE_H_

#include <map>
#include <string>
#include <vector>

#include "events/trail.h"
#include "store/store.h"

namespace bucketd::events {

struct TreeDiff {
  std::vector<store::ObjectStat> created_or_changed;  // new keys, or size/mtime differ
  std::vector<std::string> removed;                   // indexed keys no longer on disk
};

// Both inputs cover the same key range (a bucket, or a prefix of it).
TreeDiff Diff(const std::map<std::string, IndexEntry>& indexed,
              const std::vector<store::ObjectStat>& on_disk);

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_RECONCILE_H_
