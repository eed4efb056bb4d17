// libFuzzer target: the aws-chunked decoder (api/aws_chunked.h) on any
// bytes, read in pieces of any size, signed or not, with or without a
// trailer. It must never crash, never yield more bytes than it was given, and
// either end cleanly or fail with an S3 error code.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "api/aws_chunked.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t flags = data[0];
  size_t step = 1 + data[1] % 97;
  std::string body(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t pos = 0;
  std::optional<bucketd::api::ChunkSigning> signing;
  if (flags & 1) {
    bucketd::sigv4::Scope scope{"20130524", "us-east-1", "s3"};
    signing = bucketd::api::ChunkSigning{bucketd::sigv4::SigningKey("secret", scope), scope, "20130524T000000Z",
                                         std::string(64, '0')};
  }
  bucketd::api::AwsChunkedSource source(
      [&](char* buf, size_t n) -> bucketd::Result<size_t> {
        size_t take = std::min({n, step, body.size() - pos});
        std::memcpy(buf, body.data() + pos, take);
        pos += take;
        return take;
      },
      signing, (flags & 2) != 0);
  char out[1 + (1 << 12)];
  size_t total = 0;
  for (int i = 0; i < 100000; ++i) {
    size_t want = 1 + (flags >> 2) * 61 % sizeof(out);
    auto n = source.Read(out, std::min(want, sizeof(out)));
    if (!n.ok()) {
      if (source.error().code.empty()) __builtin_trap();  // a failure must say which S3 error
      return 0;
    }
    if (*n == 0) break;
    total += *n;
    if (total > body.size()) __builtin_trap();
  }
  return 0;
}
