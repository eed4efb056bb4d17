#include "common/md5.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdlib>

namespace bucketd {

namespace {

// Fetched once: the legacy EVP_sha256() and HMAC() look the algorithm up in
// the provider's store on every call, which a signed request pays several
// times (a tenth of a small GET's CPU).
const EVP_MD* Fetched(Digest::Algorithm algorithm) {
  static const EVP_MD* const kMd5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  static const EVP_MD* const kSha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static const EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  const EVP_MD* md = algorithm == Digest::Algorithm::kMd5    ? kMd5
                     : algorithm == Digest::Algorithm::kSha1 ? kSha1
                                                             : kSha256;
  // A FIPS-only provider refusing MD5: nothing sane to return an ETag
  // from, and it cannot happen with Debian's default config.
  if (md == nullptr) std::abort();
  return md;
}

}  // namespace

struct Digest::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Digest::Digest(Algorithm algorithm) : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, Fetched(algorithm), nullptr) != 1) std::abort();
}

Digest::~Digest() { EVP_MD_CTX_free(ctx_->md); }

void Digest::Update(std::string_view data) {
  if (EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1) std::abort();
}

std::string Digest::Final() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_->md, digest, &len) != 1) std::abort();
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool Base64Decode(std::string_view text, std::string* bytes) {
  if (text.size() % 4 != 0 || text.size() > (1 << 20)) return false;
  std::string out(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = text.empty() ? 0 : (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
  out.resize(static_cast<size_t>(n) - pad);
  *bytes = std::move(out);
  return true;
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

std::string Digest::HexDigest() {
  std::string raw = Final();
  return Hex(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<unsigned>(raw.size()));
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, Fetched(Digest::Algorithm::kSha256), nullptr) != 1) std::abort();
  return Hex(digest, len);
}

std::string QuotedMd5(std::string_view data) {
  Md5 md5;
  md5.Update(data);
  return "\"" + md5.HexDigest() + "\"";
}

namespace {

// One HMAC context per thread and digest, its digest set once; each call
// only re-keys it.
std::string Hmac(Digest::Algorithm algorithm, std::string_view key, std::string_view data) {
  struct Context {
    explicit Context(Digest::Algorithm a) {
      static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
      ctx = kHmac != nullptr ? EVP_MAC_CTX_new(kHmac) : nullptr;
      char* name = const_cast<char*>(EVP_MD_get0_name(Fetched(a)));
      OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", name, 0), OSSL_PARAM_construct_end()};
      if (ctx == nullptr || EVP_MAC_CTX_set_params(ctx, params) != 1) std::abort();
    }
    ~Context() { EVP_MAC_CTX_free(ctx); }
    EVP_MAC_CTX* ctx;
  };
  thread_local Context sha1(Digest::Algorithm::kSha1), sha256(Digest::Algorithm::kSha256);
  EVP_MAC_CTX* ctx = algorithm == Digest::Algorithm::kSha1 ? sha1.ctx : sha256.ctx;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  // A zero-length key is a valid HMAC key; OpenSSL wants a non-null pointer.
  static const unsigned char kEmpty = 0;
  const unsigned char* k = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx, k, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, mac, &len, sizeof(mac)) != 1) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view data) {
  return Hmac(Digest::Algorithm::kSha256, key, data);
}
std::string HmacSha1(std::string_view key, std::string_view data) { return Hmac(Digest::Algorithm::kSha1, key, data); }

std::string HexEncode(std::string_view bytes) {
  return Hex(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string SecretBytes(size_t n) {
  std::string out(n, '\0');
  // Debian's OpenSSL seeds from getrandom(); failure means no entropy source
  // at all, and a guessable key would be worse than stopping.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) std::abort();
  return out;
}

}  // namespace bucketd
