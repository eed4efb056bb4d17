#include "events/reconcile.h"

#include <set>

namespace bucketd::events {

TreeDiff Diff(const std::map<std::string, IndexEntry>& indexed,
              const std::vector<store::ObjectStat>& on_disk) {
  TreeDiff diff;
  std::set<std::string> present;
  for (const auto& o : on_disk) {
    present.insert(o.key);
    auto it = indexed.find(o.key);
    if (it == indexed.end() || it->second.size != o.size || it->second.mtime_ns != o.mtime_ns) {
      diff.created_or_changed.push_back(o);
    }
  }
  for (const auto& [key, entry] : indexed) {
    if (!present.count(key)) diff.removed.push_back(key);
  }
  return diff;
}

}  // namespace bucketd::events
