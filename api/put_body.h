// The body of an upload (PutObject, UploadPart), decoded and checked as it
// streams into the store: aws-chunked framing removed (with its chunk and
// trailer signatures), and at its end, before the store may rename anything
// into place, the signed SHA-256, Content-MD5, the declared decoded length
// and every x-amz-checksum-* (header or trailer) compared.
#ifndef BUCKETD_API_PUT_BODY_H_
#define BUCKETD_API_PUT_BODY_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/aws_chunked.h"
#include "api/checksums.h"
#include "api/s3_error.h"
#include "common/md5.h"
#include "http/server.h"
#include "store/store.h"

namespace bucketd::api {

// "a, b,c" -> {"a", "b", "c"}: a header's comma-separated items, trimmed,
// empty ones dropped; lower case when `lower`.
std::vector<std::string> SplitHeaderList(const std::string& value, bool lower = true);

class PutBody final : public store::ByteSource {
 public:
  PutBody(http::Exchange& exchange, const Authenticated& auth);
  // Checks the headers that describe the body; false with `error` set when
  // they are malformed or name what bucketd cannot check.
  bool Prepare(S3Error* error);
  Result<size_t> Read(char* buf, size_t n) override;
  // Why a Read failed (client's fault), if it did.
  const std::optional<S3Error>& error() const { return error_; }
  // The verified checksums: "x-amz-checksum-crc32" -> base64.
  const std::map<std::string, std::string>& checksums() const { return verified_; }
  uint64_t bytes() const { return bytes_; }
  // The stored Content-Encoding: the client's without "aws-chunked".
  const std::string& content_encoding() const { return content_encoding_; }

 private:
  Status Finish();
  Status Fail(S3Error e);

  http::Exchange& exchange_;
  const Authenticated& auth_;
  std::unique_ptr<AwsChunkedSource> chunked_;
  std::unique_ptr<Digest> sha256_;
  std::string expected_sha256_;
  std::unique_ptr<Digest> md5_;
  std::string expected_md5_;  // raw
  std::optional<uint64_t> decoded_length_;
  std::vector<std::unique_ptr<Checksum>> checksums_;
  std::map<std::string, std::string> expected_;  // from headers
  std::vector<std::string> trailer_names_;       // x-amz-trailer
  std::map<std::string, std::string> verified_;
  std::string content_encoding_;
  uint64_t bytes_ = 0;
  bool done_ = false;
  std::optional<S3Error> error_;
};

}  // namespace bucketd::api

#endif  // BUCKETD_API_PUT_BODY_H_
