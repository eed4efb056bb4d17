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

TEST(TimeFormatTest, Rfc3339AndHttpDate) {
  int64_t t = 1795339570123000000LL;  // 2026-11-22T09:26:10.123Z
  EXPECT_EQ(FormatRfc3339Millis(t), "2026-11-22T09:26:10.123Z");
  EXPECT_EQ(FormatHttpDate(t), "Sun, 22 Nov 2026 09:26:10 GMT");
}

}  // namespace
}  // namespace bucketd
