// Temporary credentials are proved by bucketd's own MAC, for one key id,
// until their expiry.
#include "iam/session_token.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "iam/iam_store.h"
#include "tests/test_util.h"

namespace bucketd::iam {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kNow = 1'796'000'000 * kSecond;

SessionCredentials Mint(const std::string& session_key) {
  SessionClaims claims;
  claims.user_name = "bob";
  claims.parent_key_id = "AKIAAAAAAAAAAAAAAAAA";
  claims.issued_ns = kNow;
  claims.expires_ns = kNow + 900 * kSecond;
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

// A role's session: minted for a service the trust policy names, looked up
// as the assumed role with the role's policies of now, ended with the role.
TEST(RoleSessionTest, AServiceTheTrustPolicyNamesGetsTheRolesSessionUntilTheRoleIsGone) {
  testing::TempDir tmp;
  Env& env = Env::Default();
  const std::string dir = tmp.path();
  const nlohmann::json read_only = {{"Version", "2012-10-17"},
                                    {"Statement", {{{"Effect", "Allow"}, {"Action", "s3:GetObject"}, {"Resource", "*"}}}}};
  ASSERT_TRUE(UpdateIam(env, dir, [&](IamData& d) {
                Role r;
                r.name = "reader";
                r.id = "AROAEXAMPLEEXAMPLE1";
                r.create_date = "2026-12-02T08:00:00+00:00";
                r.assume_role_policy = nlohmann::json::parse(R"({"Version": "2012-10-17", "Statement": [{"Effect":
                    "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]})");
                r.inline_policies["read"] = read_only;
                d.roles["reader"] = r;
                Role other = r;
                other.name = "ec2only";
                other.assume_role_policy["Statement"][0]["Principal"]["Service"] = "ec2.amazonaws.com";
                d.roles["ec2only"] = other;
                return Status::OK();
              }).ok());
  const std::string key = "session key";
  auto creds = AssumeRoleForService(env, dir, key, "arn:aws:iam::000000000000:role/reader", "lambda.amazonaws.com",
                                    "Thumbnail", 3600);
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  EXPECT_EQ(creds->access_key_id.rfind("ASIA", 0), 0u);

  Directory directory(env, dir, "000000000000");
  directory.set_session_key(key);
  int64_t now = env.clock().NowNanos();
  auto found = directory.LookupSession(creds->access_key_id, creds->session_token, now);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  const Principal& p = found->first;
  EXPECT_EQ(p.type, "AssumedRole");
  EXPECT_EQ(p.arn, "arn:aws:sts::000000000000:assumed-role/reader/Thumbnail");
  EXPECT_EQ(p.user_id, "AROAEXAMPLEEXAMPLE1:Thumbnail");
  EXPECT_EQ(p.role_arn, "arn:aws:iam::000000000000:role/reader");
  ASSERT_EQ(p.policies.size(), 1u);
  EXPECT_EQ(*p.policies[0], read_only);
  EXPECT_EQ(found->second, creds->secret_access_key);

  auto untrusted = AssumeRoleForService(env, dir, key, "arn:aws:iam::000000000000:role/ec2only",
                                        "lambda.amazonaws.com", "Thumbnail", 3600);
  EXPECT_EQ(untrusted.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(untrusted.status().message().find("role/ec2only"), std::string::npos) << untrusted.status().message();
  EXPECT_EQ(AssumeRoleForService(env, dir, key, "arn:aws:iam::000000000000:role/nobody", "lambda.amazonaws.com",
                                 "T", 3600).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(AssumeRoleForService(env, dir, key, "arn:aws:iam::111111111111:role/reader", "lambda.amazonaws.com",
                                 "T", 3600).status().code(),
            StatusCode::kNotFound)
      << "another account's role";

  ASSERT_TRUE(UpdateIam(env, dir, [](IamData& d) {
                d.roles.erase("reader");
                return Status::OK();
              }).ok());
  // The directory looks at the store at most every 100 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(directory.LookupSession(creds->access_key_id, creds->session_token, now).status().code(),
            StatusCode::kNotFound)
      << "the role gone, its sessions end";
}

}  // namespace
}  // namespace bucketd::iam
