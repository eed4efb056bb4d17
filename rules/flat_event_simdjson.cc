// FlatEvent::Parse on simdjson: the one place this project uses simdjson.
// Event text (the bench's, test-event-pattern's, put-events') is parsed on
// the hot path, where nlohmann-json costs about 6 µs per S3 event; only the
// subtrees that hold a flattened path are walked.
#include <simdjson.h>

#include <algorithm>

#include "rules/pattern.h"

namespace bucketd::rules {

class SimdjsonFlattener {
 public:
  explicit SimdjsonFlattener(FlatEvent::Builder* out) : out_(out) {}

  // False when the document needs the reference parser (a key repeated
  // among those flattened, whose last value wins there).
  bool Add(int32_t node, simdjson::dom::element e) {
    switch (e.type()) {
      case simdjson::dom::element_type::OBJECT: {
        // The keys flattened so far in this object (most objects have few;
        // left uninitialised, as this runs for every object of every event).
        struct Key {
          const char* data;
          size_t size;
        };
        Key seen[8];
        size_t n_seen = 0;
        std::vector<std::string_view> more;
        for (auto field : simdjson::dom::object(e)) {
          int32_t child = out_->Child(node, field.key);
          if (child == FieldPaths::kNoNode) continue;
          for (size_t i = 0; i < n_seen; ++i) {
            if (std::string_view(seen[i].data, seen[i].size) == field.key) return false;
          }
          if (std::find(more.begin(), more.end(), field.key) != more.end()) return false;
          if (n_seen < std::size(seen)) {
            seen[n_seen++] = {field.key.data(), field.key.size()};
          } else {
            more.push_back(field.key);
          }
          if (!Add(child, field.value)) return false;
        }
        return true;
      }
      case simdjson::dom::element_type::ARRAY:
        for (auto item : simdjson::dom::array(e)) {
          if (!Add(node, item)) return false;
        }
        return true;
      case simdjson::dom::element_type::STRING:
        out_->Add(node, Value::Type::kString, std::string_view(e), 0, false);
        return true;
      case simdjson::dom::element_type::INT64:
        out_->Add(node, Value::Type::kNumber, {}, static_cast<double>(int64_t(e)), false);
        return true;
      case simdjson::dom::element_type::UINT64:
        out_->Add(node, Value::Type::kNumber, {}, static_cast<double>(uint64_t(e)), false);
        return true;
      case simdjson::dom::element_type::DOUBLE:
        out_->Add(node, Value::Type::kNumber, {}, double(e), false);
        return true;
      case simdjson::dom::element_type::BOOL:
        out_->Add(node, Value::Type::kBool, {}, 0, bool(e));
        return true;
      default:
        out_->Add(node, Value::Type::kNull, {}, 0, false);
        return true;
    }
  }

 private:
  FlatEvent::Builder* out_;
};

Status FlatEvent::ParseInto(std::string_view text, const std::string& source, const FieldPaths* paths,
                            FlatEvent* out) {
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    // kMaxJsonDepth levels and no more, as CheckJsonNesting counts them
    // (simdjson counts one more); deeper goes to ParseSlow for its error.
    // A failure here fails each parse too, and ParseSlow answers.
    simdjson::error_code allocated = p.allocate(4096, kMaxJsonDepth + 1);
    (void)allocated;
    return p;
  }();
  thread_local std::string padded;  // simdjson reads up to SIMDJSON_PADDING bytes past the end
  padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.assign(text);
  simdjson::dom::element doc;
  bool fast = parser.parse(padded.data(), padded.size(), false).get(doc) == simdjson::SUCCESS && doc.is_object();
  if (fast) {
    Builder b(paths, out);
    fast = SimdjsonFlattener(&b).Add(FieldPaths::kRoot, doc);
    if (fast) b.Finish();
  }
  if (fast) return Status::OK();
  ASSIGN_OR_RETURN(*out, ParseSlow(text, source, paths));  // for nlohmann's wording of an error
  return Status::OK();
}

Result<FlatEvent> FlatEvent::Parse(std::string_view text, const std::string& source, const FieldPaths* paths) {
  FlatEvent out;
  RETURN_IF_ERROR(ParseInto(text, source, paths, &out));
  return out;
}

}  // namespace bucketd::rules
