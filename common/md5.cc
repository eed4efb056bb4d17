#include "common/md5.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace bucketd {

struct Md5::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Md5::Md5() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  // Allocation failure or a FIPS-only provider refusing MD5: nothing sane to
  // return an ETag from, and it cannot happen with Debian's default config.
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, EVP_md5(), nullptr) != 1) std::abort();
}

Md5::~Md5() { EVP_MD_CTX_free(ctx_->md); }

void Md5::Update(std::string_view data) {
  if (EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1) std::abort();
}

namespace {

std::string Hex(const unsigned char* digest, unsigned len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace

std::string Md5::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, digest, &len) != 1) std::abort();
  return Hex(digest, len);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) std::abort();
  return Hex(digest, len);
}

std::string QuotedMd5(std::string_view data) {
  Md5 md5;
  md5.Update(data);
  return "\"" + md5.HexDigest() + "\"";
}

}  // namespace bucketd
