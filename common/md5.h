// Digests over OpenSSL's EVP API: incremental MD5 for S3 ETags (single-part
// upload: the MD5 of the bytes, hex, in double quotes), SHA-256, HMAC-SHA256
// and secret random bytes.
//
// Thread-safety: one object per thread.
#ifndef BUCKETD_COMMON_MD5_H_
#define BUCKETD_COMMON_MD5_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace bucketd {

// An incremental digest: MD5 (ETags, Content-MD5), SHA-1 and SHA-256 (S3's
// x-amz-checksum-* and payload hashes).
class Digest {
 public:
  enum class Algorithm { kMd5, kSha1, kSha256 };
  explicit Digest(Algorithm algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void Update(std::string_view data);
  // The raw digest; the object may not be updated afterwards.
  std::string Final();
  // Lower-case hex of Final().
  std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

class Md5 : public Digest {
 public:
  Md5() : Digest(Algorithm::kMd5) {}
};

// RFC 4648 base64 (with padding), as S3 sends Content-MD5 and checksums.
std::string Base64Encode(std::string_view bytes);
// False for text that is no padded base64.
bool Base64Decode(std::string_view text, std::string* bytes);

// Lower-case hex SHA-256 of `data` (stable ids).
std::string Sha256Hex(std::string_view data);

// "\"<md5 hex>\"" of `data`.
std::string QuotedMd5(std::string_view data);

// The raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
// HMAC-SHA1, for S3's legacy signature version 2 (presigned URLs that
// boto3 and the AWS CLI v1 still make by default).
std::string HmacSha1(std::string_view key, std::string_view data);

// Lower-case hex of arbitrary bytes.
std::string HexEncode(std::string_view bytes);

// Equal without an early exit, so a comparison of MACs leaks no timing.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// `n` bytes from OpenSSL's CSPRNG (keys, tokens); never a predictable engine.
std::string SecretBytes(size_t n);

}  // namespace bucketd

#endif  // BUCKETD_COMMON_MD5_H_
