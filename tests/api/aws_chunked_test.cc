// aws-chunked decoding against AWS's published signed streaming upload
// (66,560 bytes of 'a' as chunks of 65,536, 1,024 and 0 bytes), and the
// framings a hostile client sends.
#include "api/aws_chunked.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace bucketd::api {
namespace {

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kSeed[] = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
constexpr char kChunk1[] = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
constexpr char kChunk2[] = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
constexpr char kFinal[] = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

ChunkSigning Signing() {
  sigv4::Scope scope{"20130524", "us-east-1", "s3"};
  return {sigv4::SigningKey(kSecret, scope), scope, "20130524T000000Z", kSeed};
}

std::string ExampleBody(char corrupt = 'a') {
  std::string chunk2(1024, 'a');
  chunk2[10] = corrupt;
  return "10000;chunk-signature=" + std::string(kChunk1) + "\r\n" + std::string(65536, 'a') + "\r\n" +
         "400;chunk-signature=" + kChunk2 + "\r\n" + chunk2 + "\r\n" + "0;chunk-signature=" + kFinal + "\r\n\r\n";
}

// Reads `body` through the decoder, `step` bytes per raw read.
struct Decoded {
  Status status;
  std::string data;
  S3Error error;
  std::map<std::string, std::string> trailers;
};
Decoded Decode(const std::string& body, std::optional<ChunkSigning> signing, bool trailer, size_t step = 4096) {
  size_t pos = 0;
  AwsChunkedSource source(
      [&](char* buf, size_t n) -> Result<size_t> {
        size_t take = std::min({n, step, body.size() - pos});
        std::copy_n(body.data() + pos, take, buf);
        pos += take;
        return take;
      },
      std::move(signing), trailer);
  Decoded d;
  char buf[10000];
  for (;;) {
    auto n = source.Read(buf, sizeof(buf));
    if (!n.ok()) {
      d.status = n.status();
      d.error = source.error();
      return d;
    }
    if (*n == 0) break;
    d.data.append(buf, *n);
  }
  d.trailers = source.trailers();
  return d;
}

TEST(AwsChunkedTest, AwsPublishedSignedStreamDecodesWithEveryChunkSignatureVerified) {
  for (size_t step : {size_t{1}, size_t{7}, size_t{4096}, size_t{70000}}) {
    Decoded d = Decode(ExampleBody(), Signing(), false, step);
    ASSERT_TRUE(d.status.ok()) << d.status.ToString();
    EXPECT_EQ(d.data, std::string(66560, 'a')) << "step " << step;
  }
}

TEST(AwsChunkedTest, ADataByteChangedOnTheWayFailsThatChunksSignature) {
  Decoded d = Decode(ExampleBody('b'), Signing(), false);
  EXPECT_FALSE(d.status.ok());
  EXPECT_EQ(d.error.code, "SignatureDoesNotMatch");
  EXPECT_EQ(d.error.status, 403);
}

TEST(AwsChunkedTest, AChunkWithoutItsSignatureIsRefusedWhenSigned) {
  Decoded d = Decode("5\r\nhello\r\n0\r\n\r\n", Signing(), false);
  EXPECT_EQ(d.error.code, "SignatureDoesNotMatch");
}

TEST(AwsChunkedTest, UnsignedTrailerFormYieldsTheBytesAndTheTrailer) {
  Decoded d = Decode("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n", std::nullopt, true, 3);
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.data, "hello world");
  EXPECT_EQ(d.trailers.at("x-amz-checksum-crc32"), "DUoRhQ==");
}

TEST(AwsChunkedTest, HostileFramingsGetAnS3ErrorNamingWhatWasExpected) {
  struct Case {
    std::string body;
    std::string code;
  } cases[] = {
      {"zz\r\nhello\r\n0\r\n\r\n", "InvalidRequest"},             // no hex size
      {"20\r\nhello\r\n0\r\n\r\n", "IncompleteBody"},             // size larger than the data
      {"2\r\nhello\r\n0\r\n\r\n", "IncompleteBody"},              // data longer than the size
      {"5\r\nhel", "IncompleteBody"},                              // cut off
      {std::string(5000, '1') + "\r\n", "InvalidRequest"},        // endless size line
      {"11111111111111111\r\n", "InvalidRequest"},                // 17 hex digits
      {"ffffffffff\r\n", "InvalidRequest"},                       // beyond 5 GiB
      {"5;chunk-sig=x\r\nhello\r\n0\r\n\r\n", "InvalidRequest"},  // unknown extension
      {"0\r\nno-colon-here\r\n\r\n", "InvalidRequest"},           // trailer without a name
  };
  for (const Case& c : cases) {
    Decoded d = Decode(c.body, std::nullopt, true);
    EXPECT_FALSE(d.status.ok()) << c.body.substr(0, 40);
    EXPECT_EQ(d.error.code, c.code) << c.body.substr(0, 40) << ": " << d.error.message;
    EXPECT_FALSE(d.error.message.empty());
  }
}

TEST(AwsChunkedTest, TooManyTrailerLinesAreRefused) {
  std::string body = "0\r\n";
  for (int i = 0; i < 20; ++i) body += "x-amz-t" + std::to_string(i) + ":v\r\n";
  Decoded d = Decode(body + "\r\n", std::nullopt, true);
  EXPECT_EQ(d.error.code, "InvalidRequest");
}

}  // namespace
}  // namespace bucketd::api
