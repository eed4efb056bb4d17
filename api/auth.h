// Who sent a request: SigV4 in the Authorization header or in a presigned
// query string (and the legacy signature version 2 in either place, which
// boto3 and the AWS CLI v1 still use for presigned URLs), checked against
// the IAM store's keys.
//
// Checked as S3 checks: the algorithm, the credential scope's form and
// service ("s3"; any region name, used as the client signed with it), the
// date (the scope's day; 15 minutes of clock skew at most, else
// RequestTimeTooSkewed; a presigned URL's X-Amz-Expires of 1 s to 7 days and
// not yet past), that "host" is signed, the key (InvalidAccessKeyId) and the
// signature (SignatureDoesNotMatch, with the string to sign and canonical
// request S3 puts in that error). Requests without any signature are
// anonymous and denied.
#ifndef BUCKETD_API_AUTH_H_
#define BUCKETD_API_AUTH_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "api/s3_error.h"
#include "http/server.h"
#include "iam/iam_store.h"
#include "sigv4/sigv4.h"

namespace bucketd::api {

struct Authenticated {
  iam::Principal principal;
  std::string method;          // "AuthHeader" | "QueryString" (CloudTrail's AuthenticationMethod)
  std::string signature_version = "SigV4";  // or "SigV2"
  std::string content_sha256;  // a hex hash, UNSIGNED-PAYLOAD or a STREAMING-… form
  // What aws-chunked needs to verify chunk signatures.
  std::string signing_key;
  sigv4::Scope scope;
  std::string amz_date;
  std::string seed_signature;
};

// The request-target split: the path as sent and the decoded query.
struct Target {
  std::string path;  // percent-encoded, as sent
  std::vector<std::pair<std::string, std::string>> query;
  // The value of a query parameter, or nullptr.
  const std::string* Find(std::string_view name) const;
};
// InvalidArgument for a malformed escape.
Result<Target> ParseTarget(const std::string& target);
// "a=1&b=x%20y" as decoded (name, value) pairs; `plus_is_space` for
// form-encoded text (x-amz-tagging), not for a request's query.
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view text, bool plus_is_space);

// What a request is checked as: the SigV4 service its credential scope must
// name, and, for the services that sign their body's hash without sending
// it in x-amz-content-sha256 (STS, and SQS, SNS… later), that hash.
struct AuthExpectation {
  std::string service = "s3";
  std::string body_sha256;  // hex; empty: the request's x-amz-content-sha256
};

// The service a signed request names in its credential scope ("s3", "sts");
// empty when it names none (unsigned, SigV2, or malformed: Authenticate says).
std::string SignedService(const http::Request& request, const Target& target);

// Fills `out`, or `error` and returns false. `host_bucket`: the bucket a
// virtual-hosted request names in its Host (signature version 2 signs it).
// Temporary credentials (an "ASIA…" key) carry their session token in
// x-amz-security-token, or X-Amz-Security-Token in a presigned query.
bool Authenticate(const http::Request& request, const Target& target, const std::string& host_bucket,
                  iam::Directory& directory, int64_t now_ns, Authenticated* out, S3Error* error,
                  const AuthExpectation& expect = {});

}  // namespace bucketd::api

#endif  // BUCKETD_API_AUTH_H_
