#include "daemon/control_verbs.h"

#include <algorithm>

#include "daemon/manager.h"
#include "runner/invocation_json.h"

namespace bucketd::daemon {

namespace {

const char* TypeName(FieldType t) {
  switch (t) {
    case FieldType::kString: return "a string";
    case FieldType::kInteger: return "an integer";
    case FieldType::kStringList: return "a list of strings";
  }
  return "?";
}

bool HasType(const nlohmann::json& v, FieldType t) {
  switch (t) {
    case FieldType::kString: return v.is_string();
    case FieldType::kInteger: return v.is_number_integer();
    case FieldType::kStringList:
      return v.is_array() && std::all_of(v.begin(), v.end(), [](const nlohmann::json& e) { return e.is_string(); });
  }
  return false;
}

Result<nlohmann::json> StatusVerb(Manager& m, const nlohmann::json&) {
  nlohmann::json answer = m.StatusAnswer();
  answer.erase("ok");
  return answer;
}

Result<nlohmann::json> ReloadVerb(Manager& m, const nlohmann::json&) {
  RETURN_IF_ERROR(m.Reload());
  return nlohmann::json::object();
}

// {"ok":true,"runs":[…]} (keys in nlohmann's order, as a whole dump would
// have them), a page of rows at a time.
ControlReply RunsStream(Manager& m, const nlohmann::json& request) {
  struct Cursor {
    runner::RunQuery query;
    int left = 0;
    bool opened = false;
    int sent = 0;
  };
  auto cursor = std::make_shared<Cursor>();
  cursor->query = runner::QueryFromJson(request);
  cursor->left = cursor->query.limit;
  runner::Runner* r = &m.runner();
  ControlReply reply;
  reply.next = [cursor, r](std::string* out) {
    constexpr int kPage = 100;
    runner::RunQuery q = cursor->query;
    q.limit = std::min(kPage, cursor->left);
    Result<std::vector<runner::Invocation>> rows = std::vector<runner::Invocation>();
    try {
      if (q.limit > 0) rows = r->queue().Find(q);
    } catch (const std::exception& e) {
      rows = Status::IOError(std::string("internal error: ") + e.what());
    }
    if (!rows.ok()) {
      // Before the first byte the error is the answer; after it, the
      // answer ends here, short but well-formed.
      *out += cursor->opened ? "]}\n" : nlohmann::json{{"ok", false}, {"error", rows.status().message()}}.dump() + "\n";
      return false;
    }
    if (!cursor->opened) *out += R"({"ok":true,"runs":[)";
    cursor->opened = true;
    for (const auto& v : *rows) {
      if (cursor->sent++ > 0) *out += ",";
      *out += runner::InvocationToJson(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    cursor->left -= static_cast<int>(rows->size());
    if (!rows->empty()) cursor->query.before_n = rows->back().n;
    if (cursor->left > 0 && static_cast<int>(rows->size()) == q.limit) return true;
    *out += "]}\n";
    return false;
  };
  return reply;
}

Result<nlohmann::json> RunVerb(Manager& m, const nlohmann::json& request) {
  std::string id = request.value("id", "");
  runner::Runner& r = m.runner();
  ASSIGN_OR_RETURN(auto v, r.queue().Get(id));
  if (!v) return Status::NotFound("no invocation " + id);
  auto attempts = r.queue().Attempts(id);
  nlohmann::json list = nlohmann::json::array();
  for (int a = 1; a <= v->attempts; ++a) {
    nlohmann::json item = {{"attempt", a}, {"outcome", ""}, {"error", ""}};
    for (const auto& rec : attempts.ok() ? *attempts : std::vector<runner::AttemptRecord>()) {
      if (rec.attempt == a) item = runner::AttemptToJson(rec);
    }
    nlohmann::json output = nlohmann::json::array();
    uint64_t offset = 0;
    for (const auto& line : runner::ReadOutput(r.RunDir(id, a), &offset)) {
      output.push_back({{"ms", line.unix_ms}, {"stream", line.stream}, {"text", line.text}});
    }
    item["output"] = output;
    list.push_back(item);
  }
  return nlohmann::json{{"run", runner::InvocationToJson(*v)}, {"attempts", list}};
}

Result<nlohmann::json> RedriveVerb(Manager& m, const nlohmann::json& request) {
  ASSIGN_OR_RETURN(int n, m.runner().Redrive(request.value("ids", std::vector<std::string>())));
  return nlohmann::json{{"redriven", n}};
}

Result<nlohmann::json> CancelVerb(Manager& m, const nlohmann::json& request) {
  ASSIGN_OR_RETURN(std::string was, m.runner().Cancel(request.value("id", "")));
  return nlohmann::json{{"cancelled", request.value("id", "")}, {"was", was}};
}

Result<nlohmann::json> ReplayVerb(Manager& m, const nlohmann::json& request) {
  return m.Replay(request.value("rule", ""), request.value("from_ns", int64_t{0}),
                  request.value("to_ns", int64_t{0}), request.value("name", ""));
}

InvokeRequest InvokeOf(const nlohmann::json& request) {
  InvokeRequest r;
  r.function = request.value("function", "");
  r.type = request.value("type", "RequestResponse");
  r.payload = request.value("payload", "");
  return r;
}

Result<nlohmann::json> InvokeVerb(Manager& m, const nlohmann::json& request) {
  return m.InvokeForControl(InvokeOf(request));
}

Result<nlohmann::json> InvokeResultVerb(Manager& m, const nlohmann::json& request) {
  return m.InvokeResult(request.value("id", ""));
}

Result<nlohmann::json> UpdateFunctionCodeVerb(Manager& m, const nlohmann::json& request) {
  return m.UpdateFunctionCode(request.value("function", ""), request.value("bucket", ""), request.value("key", ""));
}

ControlReply Refusal(const std::string& error) { return {{{"ok", false}, {"error", error}}, {}}; }

std::string VerbNames() {
  std::string names;
  const auto& verbs = ControlVerbs();
  for (size_t i = 0; i < verbs.size(); ++i) {
    names += i == 0 ? "" : i + 1 == verbs.size() ? " or " : ", ";
    names += verbs[i].name;
  }
  return names;
}

}  // namespace

const std::vector<ControlVerb>& ControlVerbs() {
  using F = FieldType;
  static const std::vector<ControlVerb> kVerbs = {
      {"status", {}, StatusVerb},
      {"reload", {}, ReloadVerb},
      {"runs",
       {{"rule", F::kString}, {"state", F::kString}, {"since_ns", F::kInteger}, {"id", F::kString},
        {"limit", F::kInteger}},
       nullptr, RunsStream},
      {"run", {{"id", F::kString}}, RunVerb},
      {"invoke", {{"function", F::kString}, {"type", F::kString}, {"payload", F::kString}}, InvokeVerb},
      {"invoke-result", {{"id", F::kString}}, InvokeResultVerb},
      {"redrive", {{"ids", F::kStringList}}, RedriveVerb},
      {"cancel", {{"id", F::kString}}, CancelVerb},
      {"update-function-code", {{"function", F::kString}, {"bucket", F::kString}, {"key", F::kString}},
       UpdateFunctionCodeVerb},
      {"replay",
       {{"rule", F::kString}, {"from_ns", F::kInteger}, {"to_ns", F::kInteger}, {"name", F::kString}},
       ReplayVerb},
  };
  return kVerbs;
}

ControlReply HandleControlRequest(Manager& manager, const nlohmann::json& request) {
  try {
    if (!request.is_object()) return Refusal("a request is one JSON object on one line");
    auto command = request.find("command");
    if (command == request.end() || !command->is_string()) return Refusal("command: expected a string");
    const ControlVerb* verb = nullptr;
    for (const auto& v : ControlVerbs()) {
      if (*command == v.name) verb = &v;
    }
    if (verb == nullptr) {
      return Refusal("unknown command '" + command->get<std::string>() + "'; expected " + VerbNames());
    }
    for (const auto& f : verb->fields) {
      auto it = request.find(f.name);
      if (it != request.end() && !HasType(*it, f.type)) {
        return Refusal(std::string(f.name) + ": expected " + TypeName(f.type));
      }
    }
    if (verb->stream != nullptr) return verb->stream(manager, request);
    Result<nlohmann::json> answer = verb->handler(manager, request);
    if (!answer.ok()) return Refusal(answer.status().message());
    answer->emplace("ok", true);
    return {*answer, {}};
  } catch (const std::exception& e) {
    // A handler's bug must not take bucketd down; the client hears of it.
    return Refusal(std::string("internal error: ") + e.what());
  }
}

}  // namespace bucketd::daemon
