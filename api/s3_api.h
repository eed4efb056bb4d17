// The S3 API over HTTP: the endpoint's handler for S3 requests, on the same
// store bucketd watches. Requests are authenticated (api/auth.h), authorized
// against the caller's IAM policies, and answered with S3's headers, XML and
// error codes; every answer carries x-amz-request-id.
//
// A write through the endpoint is an ordinary store put (atomic, durable)
// whose sealed metadata names its caller; the event plane records it once,
// as that call (events/api_deletes.h says how deletes get the same).
//
// Thread-safety: Handle is called from the HTTP workers, several at once.
#ifndef BUCKETD_API_S3_API_H_
#define BUCKETD_API_S3_API_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/env.h"
#include "events/api_calls.h"
#include "events/api_deletes.h"
#include "http/server.h"
#include "iam/iam_store.h"
#include "store/store.h"

namespace bucketd::api {

// Lambda's Invoke, as the endpoint hands it to bucketd's runner.
struct LambdaInvoke {
  std::string function;  // the path's FunctionName: a name or an ARN
  std::string type;      // RequestResponse | Event | DryRun
  std::string payload;
};
struct LambdaAnswer {
  int status = 200;         // 200, 202 (Event), 204 (DryRun), or an error's
  std::string error_type;   // the error's (ResourceNotFoundException…) when it did not run
  std::string error_message;
  std::string request_id;       // the invocation's (Lambda's request id)
  bool function_error = false;  // the handler failed: payload is its runtime's error document
  std::string payload;
  std::string log_tail;
};

struct S3ApiOptions {
  std::string region = "local";  // GetBucketLocation's answer
  std::string account = "000000000000";
  // Host names whose sub-domains name a bucket (virtual-hosted addressing:
  // "bucket.localhost:4566").
  std::vector<std::string> virtual_host_domains = {"localhost", "s3.localhost", "localhost.localstack.cloud"};
  // Read-only through the API (bucketd's own trail).
  std::string trail_bucket = "bucketd-trail";
  // Where multipart uploads keep their parts until completed.
  std::string multipart_dir;
  std::function<void(const std::string&)> log_warning;  // may be empty
  // Where calls that change no object are recorded (a read the event
  // selectors ask for, a refused write); null: nowhere.
  events::ApiCalls* calls = nullptr;
  // <config-dir>/event-selectors.json (api/event_selectors.h); empty: none.
  std::string event_selectors_file;
  // Bucket notification configurations put through the API
  // (rules::NotificationsDir); empty: PutBucketNotificationConfiguration is
  // not served.
  std::string notifications_dir;
  // <config-dir>/rules.d: a bucket it configures is read-only through the API.
  std::string config_rules_dir;
  // Called after a notification configuration changed (the daemon reloads its rules).
  std::function<void()> rules_changed;
  // Lambda's Invoke (POST /2015-03-31/functions/NAME/invocations, signed for
  // service "lambda"); blocks until the function answers. Empty: not served.
  std::function<LambdaAnswer(const LambdaInvoke&)> invoke;
};

class S3Api {
 public:
  // All references must outlive the S3Api. `deletes` may be null.
  S3Api(Env& env, store::Store& store, iam::Directory& directory, events::ApiDeletes* deletes, S3ApiOptions options);
  ~S3Api();
  void Handle(http::Exchange& exchange);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bucketd::api

#endif  // BUCKETD_API_S3_API_H_
