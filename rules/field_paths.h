// The field paths event patterns name, each with a small integer (its slot),
// and the tree of their segments that event flattening walks: an event is
// flattened lazily, only along the paths some pattern names, and a compiled
// pattern finds a field's values by slot instead of by its dotted name.
//
// A path is the dotted join of its keys ("detail.object.key"); a key with a
// dot in it is the same path as the nested keys ({"a.b": 1} and
// {"a": {"b": 1}} are both "a.b"), as EventBridge's flattening has it.
//
// Thread-safety: immutable once built (a growing table is one event's own).
#ifndef BUCKETD_RULES_FIELD_PATHS_H_
#define BUCKETD_RULES_FIELD_PATHS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bucketd::rules {

class FieldPaths {
 public:
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  static constexpr int32_t kNoNode = -1;
  static constexpr int32_t kRoot = 0;

  FieldPaths() : nodes_(1) {}

  // The slot of `dotted`, added when new.
  uint32_t Add(std::string_view dotted);
  // The slot of `dotted`, or kNoSlot.
  uint32_t Find(std::string_view dotted) const;
  uint32_t size() const { return static_cast<uint32_t>(names_.size()); }
  const std::string& Name(uint32_t slot) const { return names_[slot]; }

  // The tree node below `node` for an object's `key` (a key with dots walks
  // one node per segment), or kNoNode when no path goes through it. Inline:
  // it runs for every key of every object an event walks into.
  int32_t Child(int32_t node, std::string_view key) const {
    const Node& n = nodes_[static_cast<size_t>(node)];
    int bit = LengthBit(key.size());
    if ((n.lengths >> bit) & 1) {
      for (const auto& [segment, child] : n.children) {
        if (segment.size() == key.size() && (key.empty() || segment[0] == key[0]) && segment == key) return child;
      }
    }
    // A key with dots: a child's name, then a dot.
    uint64_t shorter = bit == 63 ? n.lengths : n.lengths & ((uint64_t{1} << bit) - 1);
    for (; shorter != 0; shorter &= shorter - 1) {
      auto length = static_cast<size_t>(__builtin_ctzll(shorter));
      if (length < key.size() && (length == 63 || key[length] == '.')) return DottedChild(n, key);
    }
    return kNoNode;
  }
  // The same, adding the node (and the slot of its path) when new: the
  // table of an event flattened whole.
  int32_t AddChild(int32_t node, std::string_view key);
  // The slot of the path ending at `node`, or kNoSlot.
  uint32_t SlotAt(int32_t node) const { return nodes_[static_cast<size_t>(node)].slot; }

 private:
  struct Node {
    std::vector<std::pair<std::string, int32_t>> children;
    // Bit n: a child's name is n bytes long (bit 63: 63 or more). Most keys
    // of an event lead nowhere, and this says so without a compare.
    uint64_t lengths = 0;
    uint32_t slot = kNoSlot;
    std::string dotted;  // the path to here
  };
  static int LengthBit(size_t n) { return n < 63 ? static_cast<int>(n) : 63; }
  int32_t DottedChild(const Node& n, std::string_view key) const;
  int32_t Step(int32_t node, std::string_view segment) const;
  int32_t AddStep(int32_t node, std::string_view segment);

  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::vector<Node> nodes_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>> by_name_;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_FIELD_PATHS_H_
