// FlatEvent::Parse on simdjson: the one place this project uses simdjson.
// Events arriving as text (test-event-pattern, put-events, replay) are parsed
// on the hot path, where nlohmann-json costs about 6 µs per S3 event.
#include <simdjson.h>

#include <algorithm>

#include "rules/pattern.h"

namespace bucketd::rules {

class SimdjsonFlattener {
 public:
  explicit SimdjsonFlattener(FlatEvent* out) : out_(out) {}

  // False when the document needs the reference parser (repeated keys, or
  // anything simdjson would read differently).
  bool Add(const std::string& path, simdjson::dom::element e) {
    switch (e.type()) {
      case simdjson::dom::element_type::OBJECT: {
        std::vector<std::string_view> seen;
        for (auto field : simdjson::dom::object(e)) {
          if (std::find(seen.begin(), seen.end(), field.key) != seen.end()) return false;
          seen.push_back(field.key);
          std::string sub = path.empty() ? std::string(field.key) : path + "." + std::string(field.key);
          if (!Add(sub, field.value)) return false;
        }
        return true;
      }
      case simdjson::dom::element_type::ARRAY:
        for (auto item : simdjson::dom::array(e)) {
          if (!Add(path, item)) return false;
        }
        return true;
      default:
        break;
    }
    Value v;
    switch (e.type()) {
      case simdjson::dom::element_type::STRING:
        v.type = Value::Type::kString;
        v.s = std::string(std::string_view(e));
        break;
      case simdjson::dom::element_type::INT64:
        v.type = Value::Type::kNumber;
        v.n = static_cast<double>(int64_t(e));
        break;
      case simdjson::dom::element_type::UINT64:
        v.type = Value::Type::kNumber;
        v.n = static_cast<double>(uint64_t(e));
        break;
      case simdjson::dom::element_type::DOUBLE:
        v.type = Value::Type::kNumber;
        v.n = double(e);
        break;
      case simdjson::dom::element_type::BOOL:
        v.type = Value::Type::kBool;
        v.b = bool(e);
        break;
      default:
        v.type = Value::Type::kNull;
    }
    out_->fields_[path].push_back(std::move(v));
    return true;
  }

 private:
  FlatEvent* out_;
};

Result<FlatEvent> FlatEvent::Parse(std::string_view text, const std::string& source) {
  RETURN_IF_ERROR(CheckJsonNesting(text, source));  // the same limit as ParseSlow's
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return ParseSlow(text, source);  // for nlohmann's wording of the error
  }
  FlatEvent e;
  SimdjsonFlattener flat(&e);
  if (!flat.Add("", doc)) return ParseSlow(text, source);
  return e;
}

}  // namespace bucketd::rules
