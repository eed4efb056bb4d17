// A ByteSource that hashes what it passes on: the S3 ETag of exactly the
// bytes a put receives, computed where the caller wants the work done (on a
// ReadAheadSource's thread, apart from the put's writes). Give the put
// PutOptions::late_etag = &etag() and it hashes nothing itself.
#ifndef BUCKETD_STORE_MD5_SOURCE_H_
#define BUCKETD_STORE_MD5_SOURCE_H_

#include <string>

#include "common/md5.h"
#include "store/store.h"

namespace bucketd::store {

class Md5Source final : public ByteSource {
 public:
  explicit Md5Source(ByteSource& inner) : inner_(inner) {}
  Result<size_t> Read(char* buf, size_t n) override;
  // "\"<md5 hex>\"" once the inner source has ended without an error; empty
  // before.
  const std::string& etag() const { return etag_; }

 private:
  ByteSource& inner_;
  Md5 md5_;
  std::string etag_;
};

}  // namespace bucketd::store

#endif  // BUCKETD_STORE_MD5_SOURCE_H_
