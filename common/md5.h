// Incremental MD5 over OpenSSL's EVP API, for S3 ETags (single-part upload:
// the MD5 of the bytes, hex, in double quotes).
//
// Thread-safety: one object per thread.
#ifndef BUCKETD_COMMON_MD5_H_
#define BUCKETD_COMMON_MD5_H_

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

}  // namespace bucketd

#endif  // BUCKETD_COMMON_MD5_H_
