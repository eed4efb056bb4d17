// S3's error answers: the code, HTTP status and message S3 itself would
// give, rendered as S3's XML error document.
#ifndef BUCKETD_API_S3_ERROR_H_
#define BUCKETD_API_S3_ERROR_H_

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace bucketd::api {

struct S3Error {
  int status = 500;
  std::string code = "InternalError";
  std::string message = "We encountered an internal error. Please try again.";
  std::string resource;  // "/bucket/key"
  // Extra elements S3 adds for some codes (e.g. RequestTimeTooSkewed's
  // RequestTime and ServerTime).
  std::vector<std::pair<std::string, std::string>> extra;

  static S3Error Make(int status, std::string code, std::string message) {
    S3Error e;
    e.status = status;
    e.code = std::move(code);
    e.message = std::move(message);
    return e;
  }
};

// The S3 error for a store failure on `bucket` / `key` (key may be empty:
// a bucket operation).
S3Error FromStoreStatus(const Status& s, const std::string& bucket, const std::string& key);

// <Error><Code>…</Code><Message>…</Message><Resource>…</Resource><RequestId>…</RequestId></Error>
std::string ErrorDocument(const S3Error& e, const std::string& request_id);

}  // namespace bucketd::api

#endif  // BUCKETD_API_S3_ERROR_H_
