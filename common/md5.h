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

class Md5 {
 public:
  Md5();
  ~Md5();
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;

  void Update(std::string_view data);
  // Lower-case hex digest; the object may not be updated afterwards.
  std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Lower-case hex SHA-256 of `data` (stable ids).
std::string Sha256Hex(std::string_view data);

// "\"<md5 hex>\"" of `data`.
std::string QuotedMd5(std::string_view data);

// The raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);

// Lower-case hex of arbitrary bytes.
std::string HexEncode(std::string_view bytes);

// Equal without an early exit, so a comparison of MACs leaks no timing.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// `n` bytes from OpenSSL's CSPRNG (keys, tokens); never a predictable engine.
std::string SecretBytes(size_t n);

}  // namespace bucketd

#endif  // BUCKETD_COMMON_MD5_H_
