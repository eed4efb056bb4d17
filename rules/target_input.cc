// What a target receives: Input, InputPath, InputTransformer (AWS semantics).
#include "events/records.h"
#include "rules/rule.h"

namespace bucketd::rules {

Result<std::optional<nlohmann::json>> JsonPath(const nlohmann::json& doc, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid JSONPath '" + path + "': " + why +
                                   " (expected $, $.a.b, $.a[0] or $['a b'])");
  };
  if (path.empty() || path[0] != '$') return bad("must start with '$'");
  const nlohmann::json* cur = &doc;
  size_t i = 1;
  while (i < path.size()) {
    std::string key;
    std::optional<size_t> index;
    if (path[i] == '.') {
      size_t j = i + 1;
      while (j < path.size() && path[j] != '.' && path[j] != '[') ++j;
      key = path.substr(i + 1, j - i - 1);
      if (key.empty()) return bad("empty name after '.'");
      i = j;
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string::npos) return bad("missing ']'");
      std::string inner = path.substr(i + 1, close - i - 1);
      if (inner.size() >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner.back() == inner[0]) {
        key = inner.substr(1, inner.size() - 2);
      } else if (!inner.empty() && inner.find_first_not_of("0123456789") == std::string::npos) {
        index = std::stoul(inner);
      } else {
        return bad("'[" + inner + "]' is neither an index nor a quoted name");
      }
      i = close + 1;
    } else {
      return bad("unexpected '" + std::string(1, path[i]) + "'");
    }
    if (index) {
      if (!cur->is_array() || *index >= cur->size()) return std::optional<nlohmann::json>();
      cur = &(*cur)[*index];
    } else {
      if (!cur->is_object() || !cur->contains(key)) return std::optional<nlohmann::json>();
      cur = &(*cur)[key];
    }
  }
  return std::optional<nlohmann::json>(*cur);
}

namespace {

// Replaces <name> placeholders. In a JSON template a value is inserted as
// JSON (a string quoted and escaped), except inside a string literal of the
// template, where string contents are inserted escaped but unquoted; in a
// plain-text template values are inserted as text.
std::string Render(const std::string& tmpl, const std::map<std::string, nlohmann::json>& values) {
  size_t first = tmpl.find_first_not_of(" \t\r\n");
  bool json_template = first != std::string::npos && (tmpl[first] == '{' || tmpl[first] == '[');
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (json_template && c == '"' && (i == 0 || tmpl[i - 1] != '\\')) in_string = !in_string;
    if (c == '<') {
      size_t close = tmpl.find('>', i);
      if (close != std::string::npos) {
        auto it = values.find(tmpl.substr(i + 1, close - i - 1));
        if (it != values.end()) {
          const nlohmann::json& v = it->second;
          if (!json_template) {
            out += v.is_string() ? v.get<std::string>() : v.dump();
          } else if (in_string) {
            std::string dumped = v.is_string() ? nlohmann::json(v.get<std::string>()).dump() : nlohmann::json(v.dump()).dump();
            out += dumped.substr(1, dumped.size() - 2);  // escaped, without the quotes
          } else {
            out += v.dump();
          }
          i = close;
          continue;
        }
      }
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

Result<std::string> TargetInput(const Target& t, const nlohmann::json& event,
                                const std::string& rule_name, const std::string& rule_arn,
                                int64_t now_ns) {
  if (t.input) return *t.input;
  if (t.input_path) {
    ASSIGN_OR_RETURN(auto part, JsonPath(event, *t.input_path));
    if (!part) {
      return Status::InvalidArgument("target '" + t.id + "': InputPath '" + *t.input_path +
                                     "' selects nothing in the event");
    }
    return part->dump();
  }
  if (!t.transformer) return event.dump();
  std::map<std::string, nlohmann::json> values;
  for (const auto& [name, path] : t.transformer->paths) {
    ASSIGN_OR_RETURN(auto v, JsonPath(event, path));
    values[name] = v ? *v : nlohmann::json(nullptr);
  }
  values["aws.events.rule-name"] = rule_name;
  values["aws.events.rule-arn"] = rule_arn;
  values["aws.events.event.json"] = event;
  values["aws.events.event"] = event;
  values["aws.events.event.ingestion-time"] = events::Rfc3339Seconds(now_ns);
  std::string out = Render(t.transformer->input_template, values);
  size_t first = out.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (out[first] == '{' || out[first] == '[')) {
    // A JSON template must give JSON (an unknown placeholder stays as
    // "<name>" and breaks it): the target would get what it cannot read.
    try {
      nlohmann::json parsed = nlohmann::json::parse(out);
      (void)parsed;
    } catch (const nlohmann::json::exception& e) {
      return Status::InvalidArgument("target '" + t.id + "': InputTemplate does not give valid JSON for this event (" +
                                     e.what() + "): " + out.substr(0, 200));
    }
  }
  return out;
}

}  // namespace bucketd::rules
