// Carries the endpoint's Lambda Invoke calls (HTTP worker threads) to the
// manager's thread, where functions run, and their answers back: a worker
// blocks in Call; the manager's loop polls wake_fd and Serves.
//
// Thread-safety: Call from any thread; Serve and Close from the manager's.
#ifndef BUCKETD_DAEMON_INVOKE_BRIDGE_H_
#define BUCKETD_DAEMON_INVOKE_BRIDGE_H_

#include <deque>
#include <future>
#include <memory>
#include <mutex>

#include "api/s3_api.h"
#include "common/unique_fd.h"

namespace bucketd::daemon {

class Manager;

class InvokeBridge {
 public:
  InvokeBridge();
  int wake_fd() const { return wake_.get(); }
  // Blocks until the function answered (or bucketd stops: a ServiceException).
  api::LambdaAnswer Call(const api::LambdaInvoke& request);
  // Starts what was asked; RequestResponse answers follow through the runner.
  void Serve(Manager& manager);
  // Answers everything still waiting (bucketd stops) and refuses what comes.
  void Close();

 private:
  struct Pending {
    api::LambdaInvoke request;
    std::promise<api::LambdaAnswer> promise;
    std::once_flag answered;
    void Answer(api::LambdaAnswer a) {
      std::call_once(answered, [&] { promise.set_value(std::move(a)); });
    }
  };
  UniqueFd wake_;
  std::mutex mu_;
  std::deque<std::shared_ptr<Pending>> queue_;    // guarded by mu_
  std::deque<std::shared_ptr<Pending>> running_;  // the manager's thread only
  bool closed_ = false;                           // guarded by mu_
};

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_INVOKE_BRIDGE_H_
