#include "common/md5.h"

#include <gtest/gtest.h>

#include "common/time_format.h"

namespace bucketd {
namespace {

// RFC 1321 test suite values.
TEST(Md5Test, Rfc1321Vectors) {
  EXPECT_EQ(QuotedMd5(""), "\"d41d8cd98f00b204e9800998ecf8427e\"");
  EXPECT_EQ(QuotedMd5("abc"), "\"900150983cd24fb0d6963f7d28e17f72\"");
  EXPECT_EQ(QuotedMd5("message digest"), "\"f96b697d7cb7938d525a2f31aaf161d0\"");
}

TEST(Md5Test, IncrementalEqualsOneShot) {
  Md5 m;
  m.Update("message ");
  m.Update("digest");
  EXPECT_EQ(m.HexDigest(), "f96b697d7cb7938d525a2f31aaf161d0");
}

// RFC 4231 (HMAC-SHA256) and RFC 2202 (HMAC-SHA1) vectors, interleaved: the
// per-thread contexts are re-keyed on every call, never reused with the last key.
TEST(HmacTest, PublishedVectorsInAnyOrderAndTheEmptyKey) {
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(HexEncode(HmacSha1("Jefe", "what do ya want for nothing?")), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(HexEncode(HmacSha256("", "")), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  }
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TimeFormatTest, Rfc3339AndHttpDate) {
  int64_t t = 1795339570123000000LL;  // 2026-11-22T09:26:10.123Z
  EXPECT_EQ(FormatRfc3339Millis(t), "2026-11-22T09:26:10.123Z");
  EXPECT_EQ(FormatHttpDate(t), "Sun, 22 Nov 2026 09:26:10 GMT");
}

}  // namespace
}  // namespace bucketd
