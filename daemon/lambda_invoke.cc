// Lambda's Invoke on the manager's thread: an Event is a unit of work of its
// own (durable before 202 is answered, as a PutEvents would be); a
// RequestResponse runs at once and is not recorded, as in AWS.
#include "common/md5.h"
#include "daemon/manager.h"
#include "events/records.h"
#include "rules/rule.h"

namespace bucketd::daemon {

namespace {

constexpr size_t kKeptAnswers = 1000;

}  // namespace

Result<std::string> Manager::LoadedFunctionName(const std::string& name_or_arn) const {
  std::string name = name_or_arn.rfind("arn:", 0) == 0 ? rules::LambdaFunctionName(name_or_arn) : name_or_arn;
  if (runner_.FindFunction(name) == nullptr) {
    return Status::NotFound("Function not found: arn:aws:lambda:" + identity_.region + ":" + identity_.account +
                            ":function:" + (name.empty() ? name_or_arn : name));
  }
  return name;
}

Result<std::string> Manager::InvokedFunction(const InvokeRequest& request, std::string* payload) const {
  ASSIGN_OR_RETURN(std::string name, LoadedFunctionName(request.function));
  *payload = request.payload.empty() ? "{}" : request.payload;
  if (nlohmann::json::parse(*payload, nullptr, false).is_discarded()) {
    return Status::InvalidArgument("Could not parse request body into json: the payload must be JSON text");
  }
  if (request.type != "RequestResponse" && request.type != "Event" && request.type != "DryRun") {
    return Status::InvalidArgument("InvocationType '" + request.type +
                                   "': expected RequestResponse, Event or DryRun");
  }
  return name;
}

Result<nlohmann::json> Manager::Invoke(const InvokeRequest& request, runner::SyncDone done) {
  if (request.type == "Event") return std::move(InvokeEvents({request}).front());
  std::string payload;
  ASSIGN_OR_RETURN(std::string name, InvokedFunction(request, &payload));
  if (request.type == "DryRun") return nlohmann::json{{"StatusCode", 204}};
  std::string id = events::NewUuid(env_.random());
  RETURN_IF_ERROR(runner_.InvokeNow(name, payload, id, std::move(done)));
  return nlohmann::json{{"RequestId", id}, {"pending", true}};
}

std::vector<Result<nlohmann::json>> Manager::InvokeEvents(const std::vector<InvokeRequest>& requests) {
  std::vector<Result<nlohmann::json>> answers;
  Work work;
  for (const InvokeRequest& r : requests) {
    std::string payload;
    auto name = InvokedFunction(r, &payload);
    if (!name.ok()) {
      answers.push_back(name.status());
      continue;
    }
    std::string id = events::NewUuid(env_.random());
    work.invokes.push_back({*name, payload, id});
    answers.push_back(nlohmann::json{{"StatusCode", 202}, {"RequestId", id}});
  }
  if (work.invokes.empty()) return answers;
  // One unit of work: durable together before any of them is answered.
  Status committed = Commit(std::move(work));
  if (!committed.ok()) {
    for (auto& a : answers) {
      if (a.ok()) a = committed;
    }
  }
  return answers;
}

Result<nlohmann::json> Manager::InvokeForControl(const InvokeRequest& request) {
  std::string id;
  ASSIGN_OR_RETURN(nlohmann::json answer, Invoke(request, [this](runner::SyncAnswer a) {
                     auto it = answers_.find(a.request_id);
                     if (it != answers_.end()) it->second.answer = std::move(a);
                   }));
  if (!answer.value("pending", false)) return answer;
  id = answer["RequestId"];
  // The runner answers on this thread, after this returns: the slot is
  // there before any answer can come.
  answers_[id] = KeptAnswer{std::nullopt, answer_order_.insert(answer_order_.end(), id)};
  while (answer_order_.size() > kKeptAnswers) {
    answers_.erase(answer_order_.front());
    answer_order_.pop_front();
  }
  return answer;
}

Result<nlohmann::json> Manager::InvokeResult(const std::string& request_id) {
  auto it = answers_.find(request_id);
  if (it == answers_.end()) return Status::NotFound("no invocation by hand " + request_id + " is kept");
  if (!it->second.answer) return nlohmann::json{{"RequestId", request_id}, {"pending", true}};
  const runner::SyncAnswer& a = *it->second.answer;
  nlohmann::json j = {{"StatusCode", 200},
                      {"ExecutedVersion", "$LATEST"},
                      {"RequestId", request_id},
                      {"Payload", a.payload},
                      {"LogResult", Base64Encode(a.log_tail)}};
  if (!a.ok) j["FunctionError"] = "Unhandled";
  answer_order_.erase(it->second.order);
  answers_.erase(it);
  return j;
}

}  // namespace bucketd::daemon
