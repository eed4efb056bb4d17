// Temporary credentials are proved by bucketd's own MAC, for one key id,
// until their expiry.
#include "iam/session_token.h"

#include <gtest/gtest.h>

namespace bucketd::iam {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNow = 1'796'000'000 * kSecond;

SessionCredentials Mint(const std::string& session_key) {
  SessionClaims claims{"bob", "AKIAAAAAAAAAAAAAAAAA", "", kNow, kNow + 900 * kSecond};
  return MintSession(session_key, claims, Env::Default().random());
}

TEST(SessionTokenTest, ATokenProvesItsClaimsAndItsSecretForItsKeyUntilItExpires) {
  SessionCredentials c = Mint("key one");
  EXPECT_EQ(c.access_key_id.rfind("ASIA", 0), 0u);
  EXPECT_EQ(c.access_key_id.size(), 20u);
  EXPECT_EQ(c.secret_access_key.size(), 40u);
  auto claims = VerifySession("key one", c.access_key_id, c.session_token, kNow + 899 * kSecond);
  ASSERT_TRUE(claims.ok()) << claims.status().ToString();
  EXPECT_EQ(claims->user_name, "bob");
  EXPECT_EQ(claims->parent_key_id, "AKIAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(claims->issued_ns, kNow);
  EXPECT_EQ(SessionSecret("key one", c.session_token), c.secret_access_key);
  EXPECT_NE(Mint("key one").secret_access_key, c.secret_access_key) << "every session has a secret of its own";

  auto expired = VerifySession("key one", c.access_key_id, c.session_token, kNow + 900 * kSecond);
  EXPECT_EQ(expired.status().code(), StatusCode::kPreconditionFailed);
  EXPECT_EQ(VerifySession("key one", "ASIABBBBBBBBBBBBBBBB", c.session_token, kNow).status().code(),
            StatusCode::kInvalidArgument)
      << "a token is for its own key id only";
  EXPECT_EQ(VerifySession("key two", c.access_key_id, c.session_token, kNow).status().code(),
            StatusCode::kInvalidArgument)
      << "another bucketd's token";
  EXPECT_EQ(VerifySession("", c.access_key_id, c.session_token, kNow).status().code(), StatusCode::kInvalidArgument);
}

TEST(SessionTokenTest, AnEditedOrMangledTokenIsInvalidNeverAnException) {
  SessionCredentials c = Mint("key one");
  std::string t = c.session_token;
  size_t dot = t.rfind('.');
  // The claims edited (another expiry) under the old MAC.
  std::string edited = t;
  edited[dot - 5] = edited[dot - 5] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {edited, t.substr(0, dot), t.substr(0, dot + 1), std::string("bucketd-session-v1."),
                                 std::string(""), std::string(5000, 'a'), "bucketd-session-v1.!!!." + t.substr(dot + 1),
                                 t + "0"}) {
    auto r = VerifySession("key one", c.access_key_id, bad, kNow);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad.substr(0, 80);
  }
}

}  // namespace
}  // namespace bucketd::iam
