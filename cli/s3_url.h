// Parsing the `s3://bucket/key` URLs bucketctl takes, as `aws s3` writes them.
#ifndef BUCKETD_CLI_S3_URL_H_
#define BUCKETD_CLI_S3_URL_H_

#include <optional>
#include <string>
#include <string_view>

namespace bucketd::cli {

struct S3Url {
  std::string bucket;
  std::string key;  // may be empty ("s3://bucket" or "s3://bucket/")
  std::string ToString() const { return "s3://" + bucket + (key.empty() ? "" : "/" + key); }
};

// nullopt when `arg` does not start with "s3://" (a local path).
std::optional<S3Url> ParseS3Url(std::string_view arg);

}  // namespace bucketd::cli

#endif  // BUCKETD_CLI_S3_URL_H_
