// An event as patterns see it: its leaf values by field path (arrays add
// their elements' values to their field's path). Flattened along the paths
// of a FieldPaths table only — a rule set's or a pattern's — so an event
// costs what its matched fields cost, not what the whole document does; or
// whole, with a table of its own (tests, comparing two parsers).
//
// One representation on every path: the daemon flattens the events it
// renders from trail records (FromJson), the CLI, the fuzzer, the tests and
// the bench parse event text (Parse, on simdjson), and all of them match
// through the same slots.
//
// Thread-safety: immutable once built; the FieldPaths it was flattened
// along must outlive it.
#ifndef BUCKETD_RULES_FLAT_EVENT_H_
#define BUCKETD_RULES_FLAT_EVENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "rules/field_paths.h"

namespace bucketd::rules {

// One leaf value of an event (an owned copy, as literals in patterns hold).
struct Value {
  enum class Type { kString, kNumber, kBool, kNull };
  Type type = Type::kNull;
  std::string s;
  double n = 0;
  bool b = false;
  bool operator==(const Value& o) const {
    return type == o.type && s == o.s && (n == o.n || (n != n && o.n != o.n)) && b == o.b;
  }
};

// One leaf value as matching reads it: a string is a view into the event.
struct ValueView {
  Value::Type type = Value::Type::kNull;
  std::string_view s;
  double n = 0;
  bool b = false;
};

class FlatEvent {
  struct Leaf {
    uint32_t slot;
    Value::Type type;
    bool b;
    uint32_t offset, size;  // the string, in text_
    double n;
  };

 public:
  // The leaf values of one field, in document order.
  class Values {
   public:
    class Iterator {
     public:
      Iterator(const FlatEvent* e, const Leaf* l) : e_(e), l_(l) {}
      ValueView operator*() const { return e_->View(*l_); }
      Iterator& operator++() {
        ++l_;
        return *this;
      }
      bool operator!=(const Iterator& o) const { return l_ != o.l_; }

     private:
      const FlatEvent* e_;
      const Leaf* l_;
    };
    Values(const FlatEvent* e, const Leaf* begin, const Leaf* end) : e_(e), begin_(begin), end_(end) {}
    bool empty() const { return begin_ == end_; }
    size_t size() const { return static_cast<size_t>(end_ - begin_); }
    Iterator begin() const { return {e_, begin_}; }
    Iterator end() const { return {e_, end_}; }

   private:
    const FlatEvent* e_;
    const Leaf* begin_;
    const Leaf* end_;
  };

  // REQUIRES: event.is_object(). `paths` null: the whole event.
  static FlatEvent FromJson(const nlohmann::json& event, const FieldPaths* paths = nullptr);
  // Parses JSON text on simdjson (nlohmann-json only to word an error, or
  // for objects with a repeated key among the paths flattened, where the
  // last one wins as in nlohmann). InvalidArgument names `source`,
  // line:column and what was expected.
  static Result<FlatEvent> Parse(std::string_view text, const std::string& source,
                                 const FieldPaths* paths = nullptr);
  // Parse into `out`, reusing its buffers (no allocation once they are big
  // enough): for a loop over many events.
  static Status ParseInto(std::string_view text, const std::string& source, const FieldPaths* paths,
                          FlatEvent* out);
  // The same through nlohmann-json only (the reference, for tests and benches).
  static Result<FlatEvent> ParseSlow(std::string_view text, const std::string& source,
                                     const FieldPaths* paths = nullptr);

  // The table the event was flattened along.
  const FieldPaths& paths() const { return *paths_; }
  // The values at a slot of paths(); empty when the field is absent (or is
  // an object: only leaves have values).
  Values At(uint32_t slot) const;
  // The values at a dotted path (empty when absent, or not in paths()).
  Values Find(std::string_view dotted) const;
  // Every field that has values, by path, values in a fixed order: what two
  // flattenings of one event must agree on.
  std::map<std::string, std::vector<Value>> Fields() const;
  bool operator==(const FlatEvent& o) const { return Fields() == o.Fields(); }

 private:
  class Builder;
  friend class SimdjsonFlattener;
  friend class JsonFlattener;
  ValueView View(const Leaf& l) const {
    return {l.type, std::string_view(text_).substr(l.offset, l.size), l.n, l.b};
  }

  std::shared_ptr<FieldPaths> own_paths_;  // a whole event's table
  const FieldPaths* paths_ = nullptr;
  std::vector<Leaf> leaves_;     // by slot, then document order
  std::vector<uint32_t> begin_;  // slot i's leaves: [begin_[i], begin_[i + 1])
  std::string text_;             // the string values, one after another
};

// Fills a FlatEvent (emptied first, its buffers kept) as a walker over some
// JSON document finds its fields.
class FlatEvent::Builder {
 public:
  Builder(const FieldPaths* paths, FlatEvent* out);
  // The node of `key` in an object at `node`, or FieldPaths::kNoNode when no
  // path flattened goes through it (the walker skips the value).
  int32_t Child(int32_t node, std::string_view key) {
    return growing_ != nullptr ? growing_->AddChild(node, key) : event_->paths_->Child(node, key);
  }
  void Add(int32_t node, Value::Type type, std::string_view s, double n, bool b);
  void Finish();

 private:
  FlatEvent* event_;
  FieldPaths* growing_ = nullptr;
};

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_FLAT_EVENT_H_
