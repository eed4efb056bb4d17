#include "store/md5_source.h"

namespace bucketd::store {

Result<size_t> Md5Source::Read(char* buf, size_t n) {
  ASSIGN_OR_RETURN(size_t got, inner_.Read(buf, n));
  if (got > 0) {
    md5_.Update(std::string_view(buf, got));
  } else if (etag_.empty() && n > 0) {
    etag_ = "\"" + md5_.HexDigest() + "\"";
  }
  return got;
}

}  // namespace bucketd::store
