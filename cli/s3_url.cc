#include "cli/s3_url.h"

namespace bucketd::cli {

std::optional<S3Url> ParseS3Url(std::string_view arg) {
  constexpr std::string_view kScheme = "s3://";
  if (arg.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  arg.remove_prefix(kScheme.size());
  size_t slash = arg.find('/');
  S3Url url;
  url.bucket = std::string(arg.substr(0, slash));
  if (slash != std::string_view::npos) url.key = std::string(arg.substr(slash + 1));
  return url;
}

}  // namespace bucketd::cli
