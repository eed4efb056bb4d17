#include "rules/field_paths.h"

namespace bucketd::rules {

int32_t FieldPaths::Step(int32_t node, std::string_view segment) const {
  for (const auto& [key, child] : nodes_[static_cast<size_t>(node)].children) {
    if (key == segment) return child;
  }
  return kNoNode;
}

int32_t FieldPaths::AddStep(int32_t node, std::string_view segment) {
  int32_t found = Step(node, segment);
  if (found != kNoNode) return found;
  auto id = static_cast<int32_t>(nodes_.size());
  Node child;
  const std::string& parent = nodes_[static_cast<size_t>(node)].dotted;
  child.dotted = node == kRoot ? std::string(segment) : parent + "." + std::string(segment);
  nodes_.push_back(std::move(child));
  nodes_[static_cast<size_t>(node)].children.emplace_back(std::string(segment), id);
  nodes_[static_cast<size_t>(node)].lengths |= uint64_t{1} << LengthBit(segment.size());
  return id;
}

int32_t FieldPaths::DottedChild(const Node& n, std::string_view key) const {
  for (const auto& [segment, child] : n.children) {
    if (segment.size() < key.size() && key[segment.size()] == '.' && key.starts_with(segment)) {
      int32_t deeper = Child(child, key.substr(segment.size() + 1));
      if (deeper != kNoNode) return deeper;
    }
  }
  return kNoNode;
}

int32_t FieldPaths::AddChild(int32_t node, std::string_view key) {
  for (;;) {
    size_t dot = key.find('.');
    node = AddStep(node, key.substr(0, dot));
    if (dot == std::string_view::npos) break;
    key.remove_prefix(dot + 1);
  }
  Node& n = nodes_[static_cast<size_t>(node)];
  if (n.slot == kNoSlot) {
    n.slot = static_cast<uint32_t>(names_.size());
    names_.push_back(n.dotted);
    by_name_.emplace(n.dotted, n.slot);
  }
  return node;
}

uint32_t FieldPaths::Add(std::string_view dotted) {
  return SlotAt(AddChild(kRoot, dotted));
}

uint32_t FieldPaths::Find(std::string_view dotted) const {
  auto it = by_name_.find(dotted);
  return it == by_name_.end() ? kNoSlot : it->second;
}

}  // namespace bucketd::rules
