// The checksums S3 clients send, held to their published check values.
#include "api/checksums.h"

#include <gtest/gtest.h>

namespace bucketd::api {
namespace {

TEST(ChecksumsTest, CrcsMatchTheirCheckValues) {
  EXPECT_EQ(Crc32(0, "123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32c(0, "123456789"), 0xE3069283u);
  EXPECT_EQ(Crc64Nvme(0, "123456789"), 0xAE8B14860A799888ull);
}

TEST(ChecksumsTest, IncrementalEqualsWhole) {
  EXPECT_EQ(Crc64Nvme(Crc64Nvme(0, "1234"), "56789"), Crc64Nvme(0, "123456789"));
  EXPECT_EQ(Crc32c(Crc32c(0, "12345"), "6789"), Crc32c(0, "123456789"));
}

TEST(ChecksumsTest, Base64IsOfTheBigEndianValueAsS3SendsIt) {
  Checksum c(ChecksumAlgorithm::kCrc32);
  c.Update("hello world");
  EXPECT_EQ(c.Base64(), "DUoRhQ==");  // 0x0D4A1185
  Checksum s(ChecksumAlgorithm::kSha256);
  s.Update("");
  EXPECT_EQ(s.Base64(), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  Checksum n(ChecksumAlgorithm::kCrc64Nvme);
  n.Update("123456789");
  EXPECT_EQ(n.Base64(), "rosUhgp5mIg=");
}

TEST(ChecksumsTest, NamesParseInEitherCase) {
  EXPECT_EQ(ParseChecksumAlgorithm("CRC32C"), ChecksumAlgorithm::kCrc32c);
  EXPECT_EQ(ParseChecksumAlgorithm("crc64nvme"), ChecksumAlgorithm::kCrc64Nvme);
  EXPECT_FALSE(ParseChecksumAlgorithm("md5"));
  EXPECT_STREQ(ChecksumElement(ChecksumAlgorithm::kSha1), "ChecksumSHA1");
}

}  // namespace
}  // namespace bucketd::api
