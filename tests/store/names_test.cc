// Bucket-name and key rules, table-driven.
#include <gtest/gtest.h>

#include "store/store.h"

namespace bucketd::store {
namespace {

struct NameCase {
  std::string name;
  bool valid;
};

TEST(BucketNameTest, FollowsS3GeneralPurposeBucketRules) {
  const NameCase cases[] = {
      {"abc", true},          {"my-bucket.v2", true},     {"creditsafedata", true},
      {"ab", false},          {std::string(64, 'a'), false},
      {"My-Bucket", false},   {"my_bucket", false},       {"-bucket", false},
      {"bucket-", false},     {"my..bucket", false},      {"192.168.5.4", false},
      {"xn--bucket", false},  {"sthree-bucket", false},   {"bucket-s3alias", false},
      {"bucket--ol-s3", false}, {".bucket", false},       {"bucket.", false},
      {"192.168.5", true},
  };
  for (const auto& c : cases) {
    Status s = ValidateBucketName(c.name);
    EXPECT_EQ(s.ok(), c.valid) << c.name << ": " << s.ToString();
    if (!s.ok()) {
      EXPECT_NE(s.message().find(c.name), std::string::npos) << s.message();
    }
  }
}

TEST(KeyTest, AcceptsS3KeysThatArePaths) {
  for (std::string k : {"a", "a/b/c.txt", "DATA/RAW_DATA/UKLTD_M_20240101/CI01_M_20240101.rar",
                        "photos/", "with space & 'quote'", "é/ü/日本.txt", ".hidden", "a/.b/..c"}) {
    EXPECT_TRUE(ValidateKey(k).ok()) << k << ": " << ValidateKey(k).ToString();
  }
}

TEST(KeyTest, RefusesWhatCannotBeAPathInsideTheBucket) {
  struct Case {
    std::string key;
    const char* why;
  };
  const Case cases[] = {
      {"", "1 to 1024"},
      {std::string(1025, 'k'), "at most 1024"},
      {"/etc/passwd", "absolute"},
      {"../x", "'..'"},
      {"a/../../x", "'..'"},
      {"a/./b", "'..'"},
      {"a//b", "empty path segment"},
      {"//", "absolute"},
      {std::string("a\0b", 3), "NUL"},
      {"bad\xff", "invalid UTF-8"},
      {"\xc0\xaf", "invalid UTF-8"},            // overlong '/'
      {"\xed\xa0\x80", "invalid UTF-8"},        // surrogate
      {std::string(256, 's') + "/x", "255"},
  };
  for (const auto& c : cases) {
    Status s = ValidateKey(c.key);
    ASSERT_FALSE(s.ok()) << c.key;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(c.why), std::string::npos) << s.message();
  }
}

TEST(KeyTest, MaxLengthKeyWithShortSegmentsIsValid) {
  std::string key;
  while (key.size() + 11 <= 1024) key += "abcdefghij/";
  key += std::string(1024 - key.size(), 'z');
  ASSERT_EQ(key.size(), 1024u);
  EXPECT_TRUE(ValidateKey(key).ok()) << ValidateKey(key).ToString();
}

TEST(ByteRangeTest, ParsesTheThreeHttpForms) {
  auto a = ByteRange::Parse("bytes=0-4");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a->first, 0u);
  EXPECT_EQ(*a->last, 4u);
  auto b = ByteRange::Parse("bytes=5-");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->last.has_value());
  auto c = ByteRange::Parse("bytes=-3");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->suffix_length, 3u);
  for (const char* bad : {"0-4", "bytes=4-1", "bytes=a-b", "bytes=0-1,3-4", "bytes=-"}) {
    EXPECT_FALSE(ByteRange::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace bucketd::store
