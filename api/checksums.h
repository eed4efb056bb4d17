// S3's additional checksums (x-amz-checksum-crc32 / crc32c / crc64nvme /
// sha1 / sha256): computed over an object's bytes as they stream, given and
// compared in base64 of the big-endian value, as S3 does.
#ifndef BUCKETD_API_CHECKSUMS_H_
#define BUCKETD_API_CHECKSUMS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/md5.h"

namespace bucketd::api {

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };

// "crc32" (a header's suffix, any case) or "CRC32" (x-amz-sdk-checksum-algorithm).
std::optional<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name);
// "crc32" … as in the header name x-amz-checksum-<name>.
const char* ChecksumName(ChecksumAlgorithm a);
// "ChecksumCRC32" … as in S3's XML and CloudTrail.
const char* ChecksumElement(ChecksumAlgorithm a);

class Checksum {
 public:
  explicit Checksum(ChecksumAlgorithm a);
  void Update(std::string_view data);
  // Base64 of the final value.
  std::string Base64();
  ChecksumAlgorithm algorithm() const { return algorithm_; }

 private:
  ChecksumAlgorithm algorithm_;
  uint64_t crc_ = 0;
  std::unique_ptr<Digest> digest_;
};

// The raw CRCs (check values: "123456789" -> 0xCBF43926, 0xE3069283,
// 0xAE8B14860A799888).
uint32_t Crc32(uint32_t crc, std::string_view data);
uint32_t Crc32c(uint32_t crc, std::string_view data);
uint64_t Crc64Nvme(uint64_t crc, std::string_view data);

}  // namespace bucketd::api

#endif  // BUCKETD_API_CHECKSUMS_H_
