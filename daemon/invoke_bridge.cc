#include "daemon/invoke_bridge.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "daemon/manager.h"

namespace bucketd::daemon {

namespace {

api::LambdaAnswer ErrorAnswer(int status, const char* type, std::string message) {
  api::LambdaAnswer a;
  a.status = status;
  a.error_type = type;
  a.error_message = std::move(message);
  return a;
}

api::LambdaAnswer FromStatus(const Status& s) {
  if (s.IsNotFound()) return ErrorAnswer(404, "ResourceNotFoundException", s.message());
  if (s.code() == StatusCode::kInvalidArgument) {
    bool content = s.message().rfind("Could not parse", 0) == 0;
    return ErrorAnswer(400, content ? "InvalidRequestContentException" : "InvalidParameterValueException",
                       s.message());
  }
  if (s.code() == StatusCode::kResourceExhausted) return ErrorAnswer(429, "TooManyRequestsException", s.message());
  if (s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kPreconditionFailed) {
    // Its package or role is not usable: Lambda's word for a function in
    // State "Failed", a 4xx, so clients do not retry what cannot change.
    return ErrorAnswer(409, "ResourceConflictException",
                       "The function is currently in the following state: Failed. " + s.message());
  }
  return ErrorAnswer(503, "ServiceException", s.message());
}

}  // namespace

InvokeBridge::InvokeBridge() : wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

api::LambdaAnswer InvokeBridge::Call(const api::LambdaInvoke& request) {
  auto p = std::make_shared<Pending>();
  p->request = request;
  std::future<api::LambdaAnswer> answer = p->promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return ErrorAnswer(503, "ServiceException", "bucketd is stopping");
    queue_.push_back(p);
  }
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
  // A function runs for its Timeout at most and stopping answers everything;
  // the bound only keeps a worker from waiting forever should both fail.
  if (answer.wait_for(std::chrono::hours(24)) != std::future_status::ready) {
    return ErrorAnswer(504, "ServiceException", "no answer from bucketd's runner");
  }
  return answer.get();
}

void InvokeBridge::Serve(Manager& manager) {
  uint64_t count;
  (void)!::read(wake_.get(), &count, sizeof(count));
  std::deque<std::shared_ptr<Pending>> taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken.swap(queue_);
  }
  // The Events that came together are made durable together (one commit).
  std::vector<InvokeRequest> events;
  std::vector<std::shared_ptr<Pending>> event_calls;
  for (auto it = taken.begin(); it != taken.end();) {
    if ((*it)->request.type != "Event") {
      ++it;
      continue;
    }
    events.push_back({(*it)->request.function, (*it)->request.type, (*it)->request.payload});
    event_calls.push_back(*it);
    it = taken.erase(it);
  }
  if (!events.empty()) {
    std::vector<Result<nlohmann::json>> answers = manager.InvokeEvents(events);
    for (size_t i = 0; i < answers.size(); ++i) {
      if (!answers[i].ok()) {
        event_calls[i]->Answer(FromStatus(answers[i].status()));
        continue;
      }
      api::LambdaAnswer a;
      a.status = 202;
      a.request_id = answers[i]->value("RequestId", "");
      event_calls[i]->Answer(std::move(a));
    }
  }
  for (auto& p : taken) {
    InvokeRequest r{p->request.function, p->request.type, p->request.payload};
    running_.push_back(p);
    auto started = manager.Invoke(r, [this, p](runner::SyncAnswer s) {
      api::LambdaAnswer a;
      a.request_id = s.request_id;
      a.function_error = !s.ok;
      a.payload = std::move(s.payload);
      a.log_tail = std::move(s.log_tail);
      p->Answer(std::move(a));
      running_.erase(std::remove(running_.begin(), running_.end(), p), running_.end());
    });
    if (!started.ok()) {
      p->Answer(FromStatus(started.status()));
    } else if (!started->value("pending", false)) {
      api::LambdaAnswer a;
      a.status = started->value("StatusCode", 200);
      a.request_id = started->value("RequestId", "");
      p->Answer(std::move(a));
    } else {
      continue;  // the runner answers
    }
    running_.erase(std::remove(running_.begin(), running_.end(), p), running_.end());
  }
}

void InvokeBridge::Close() {
  std::deque<std::shared_ptr<Pending>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    left.swap(queue_);
  }
  for (auto& p : left) p->Answer(ErrorAnswer(503, "ServiceException", "bucketd is stopping"));
  for (auto& p : running_) p->Answer(ErrorAnswer(503, "ServiceException", "bucketd stopped before the function returned"));
  running_.clear();
}

}  // namespace bucketd::daemon
