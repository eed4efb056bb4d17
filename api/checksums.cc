#include "api/checksums.h"

#include <array>
#include <cctype>

#include <zlib.h>

namespace bucketd::api {
namespace {

// Reflected table-driven CRCs for the two zlib lacks (CRC-32C, CRC-64/NVME);
// the tests hold them to their published check values.
template <typename T, T kPoly>
const std::array<T, 256>& Table() {
  static const std::array<T, 256> table = [] {
    std::array<T, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
      T c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

template <typename T, T kPoly>
T Reflected(T crc, std::string_view data) {
  const auto& t = Table<T, kPoly>();
  crc = ~crc;
  for (unsigned char b : data) crc = t[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string BigEndian(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

}  // namespace

uint32_t Crc32(uint32_t crc, std::string_view data) {
  return static_cast<uint32_t>(::crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}
uint32_t Crc32c(uint32_t crc, std::string_view data) { return Reflected<uint32_t, 0x82F63B78u>(crc, data); }
uint64_t Crc64Nvme(uint64_t crc, std::string_view data) {
  return Reflected<uint64_t, 0x9A6C9329AC4BC9B5ull>(crc, data);
}

std::optional<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name) {
  std::string lower;
  for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "crc32") return ChecksumAlgorithm::kCrc32;
  if (lower == "crc32c") return ChecksumAlgorithm::kCrc32c;
  if (lower == "crc64nvme") return ChecksumAlgorithm::kCrc64Nvme;
  if (lower == "sha1") return ChecksumAlgorithm::kSha1;
  if (lower == "sha256") return ChecksumAlgorithm::kSha256;
  return std::nullopt;
}

const char* ChecksumName(ChecksumAlgorithm a) {
  static constexpr const char* kNames[] = {"crc32", "crc32c", "crc64nvme", "sha1", "sha256"};
  return kNames[static_cast<int>(a)];
}

const char* ChecksumElement(ChecksumAlgorithm a) {
  static constexpr const char* kNames[] = {"ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1",
                                           "ChecksumSHA256"};
  return kNames[static_cast<int>(a)];
}

Checksum::Checksum(ChecksumAlgorithm a) : algorithm_(a) {
  if (a == ChecksumAlgorithm::kSha1) digest_ = std::make_unique<Digest>(Digest::Algorithm::kSha1);
  if (a == ChecksumAlgorithm::kSha256) digest_ = std::make_unique<Digest>(Digest::Algorithm::kSha256);
}

void Checksum::Update(std::string_view data) {
  switch (algorithm_) {
    case ChecksumAlgorithm::kCrc32: crc_ = Crc32(static_cast<uint32_t>(crc_), data); break;
    case ChecksumAlgorithm::kCrc32c: crc_ = Crc32c(static_cast<uint32_t>(crc_), data); break;
    case ChecksumAlgorithm::kCrc64Nvme: crc_ = Crc64Nvme(crc_, data); break;
    default: digest_->Update(data);
  }
}

std::string Checksum::Base64() {
  if (digest_) return Base64Encode(digest_->Final());
  return Base64Encode(BigEndian(crc_, algorithm_ == ChecksumAlgorithm::kCrc64Nvme ? 8 : 4));
}

}  // namespace bucketd::api
