#include "rules/flat_event.h"

#include <algorithm>

#include "rules/pattern.h"

namespace bucketd::rules {

FlatEvent::Builder::Builder(const FieldPaths* paths, FlatEvent* out) : event_(out) {
  out->own_paths_.reset();
  if (paths == nullptr) {
    out->own_paths_ = std::make_shared<FieldPaths>();
    growing_ = out->own_paths_.get();
    paths = growing_;
  }
  out->paths_ = paths;
  out->leaves_.clear();
  out->text_.clear();
}

void FlatEvent::Builder::Add(int32_t node, Value::Type type, std::string_view s, double n, bool b) {
  uint32_t slot = event_->paths_->SlotAt(node);
  if (slot == FieldPaths::kNoSlot) return;  // a path's ancestor only
  Leaf l{slot, type, b, static_cast<uint32_t>(event_->text_.size()), static_cast<uint32_t>(s.size()), n};
  event_->text_.append(s);
  event_->leaves_.push_back(l);
}

void FlatEvent::Builder::Finish() {
  auto& leaves = event_->leaves_;
  // Few leaves per event: an insertion sort keeps document order per slot.
  for (size_t i = 1; i < leaves.size(); ++i) {
    Leaf l = leaves[i];
    size_t j = i;
    for (; j > 0 && leaves[j - 1].slot > l.slot; --j) leaves[j] = leaves[j - 1];
    leaves[j] = l;
  }
  uint32_t slots = event_->paths_->size();
  auto& begin = event_->begin_;
  begin.assign(slots + 1, 0);
  for (const Leaf& l : leaves) ++begin[l.slot + 1];
  for (uint32_t i = 0; i < slots; ++i) begin[i + 1] += begin[i];
}

FlatEvent::Values FlatEvent::At(uint32_t slot) const {
  if (slot >= paths_->size() || slot + 1 >= begin_.size()) return {this, nullptr, nullptr};
  const Leaf* base = leaves_.data();
  return {this, base + begin_[slot], base + begin_[slot + 1]};
}

FlatEvent::Values FlatEvent::Find(std::string_view dotted) const { return At(paths_->Find(dotted)); }

std::map<std::string, std::vector<Value>> FlatEvent::Fields() const {
  std::map<std::string, std::vector<Value>> out;
  for (uint32_t slot = 0; slot < paths_->size(); ++slot) {
    Values values = At(slot);
    if (values.empty()) continue;
    auto& list = out[paths_->Name(slot)];
    for (ValueView v : values) list.push_back({v.type, std::string(v.s), v.n, v.b});
    // A key with a dot and the nested keys it equals may come in either order.
    std::sort(list.begin(), list.end(), [](const Value& a, const Value& b) {
      if (a.type != b.type) return a.type < b.type;
      if (a.s != b.s) return a.s < b.s;
      if (a.n != b.n) return a.n < b.n;
      return a.b < b.b;
    });
  }
  return out;
}

class JsonFlattener {
 public:
  explicit JsonFlattener(FlatEvent::Builder* out) : out_(out) {}

  void Add(int32_t node, const nlohmann::json& v) {
    if (v.is_object()) {
      for (const auto& [key, sub] : v.items()) {
        int32_t child = out_->Child(node, key);
        if (child != FieldPaths::kNoNode) Add(child, sub);
      }
    } else if (v.is_array()) {
      for (const auto& e : v) Add(node, e);
    } else if (v.is_string()) {
      out_->Add(node, Value::Type::kString, v.get_ref<const std::string&>(), 0, false);
    } else if (v.is_number()) {
      out_->Add(node, Value::Type::kNumber, {}, v.get<double>(), false);
    } else if (v.is_boolean()) {
      out_->Add(node, Value::Type::kBool, {}, 0, v.get<bool>());
    } else {
      out_->Add(node, Value::Type::kNull, {}, 0, false);
    }
  }

 private:
  FlatEvent::Builder* out_;
};

FlatEvent FlatEvent::FromJson(const nlohmann::json& event, const FieldPaths* paths) {
  FlatEvent out;
  Builder b(paths, &out);
  JsonFlattener(&b).Add(FieldPaths::kRoot, event);
  b.Finish();
  return out;
}

Result<FlatEvent> FlatEvent::ParseSlow(std::string_view text, const std::string& source, const FieldPaths* paths) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(text, source));
  if (!j.is_object()) return Status::InvalidArgument(source + ": an event must be a JSON object");
  return FromJson(j, paths);
}

}  // namespace bucketd::rules
