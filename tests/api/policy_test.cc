// IAM identity policies, evaluated as AWS does.
#include "iam/policy.h"

#include <gtest/gtest.h>

namespace bucketd::iam {
namespace {

using nlohmann::json;

Decision Eval(const std::vector<json>& docs, const std::string& action, const std::string& resource,
              std::map<std::string, std::string> context = {}) {
  std::vector<const json*> p;
  for (const json& d : docs) p.push_back(&d);
  return Evaluate(p, {action, resource, std::move(context)});
}

TEST(PolicyTest, DefaultDenyAllowAndExplicitDenyWins) {
  json allow = json::parse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})");
  json deny = json::parse(R"({"Statement":{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b/keep/*"}})");
  EXPECT_EQ(Eval({}, "s3:GetObject", "arn:aws:s3:::b/k"), Decision::kImplicitDeny);
  EXPECT_EQ(Eval({allow}, "s3:GetObject", "arn:aws:s3:::b/k"), Decision::kAllow);
  EXPECT_EQ(Eval({allow, deny}, "s3:DeleteObject", "arn:aws:s3:::b/keep/x"), Decision::kExplicitDeny);
  EXPECT_EQ(Eval({deny, allow}, "s3:DeleteObject", "arn:aws:s3:::b/other"), Decision::kAllow);
}

TEST(PolicyTest, ActionsMatchWithoutCaseAndResourcesWithCase) {
  json p = json::parse(R"({"Statement":[{"Effect":"Allow","Action":"S3:get*","Resource":"arn:aws:s3:::b/Pre?ix/*"}]})");
  EXPECT_EQ(Eval({p}, "s3:GetObject", "arn:aws:s3:::b/Prefix/a"), Decision::kAllow);
  EXPECT_EQ(Eval({p}, "s3:GetObject", "arn:aws:s3:::b/prefix/a"), Decision::kImplicitDeny);
  EXPECT_EQ(Eval({p}, "s3:PutObject", "arn:aws:s3:::b/Prefix/a"), Decision::kImplicitDeny);
}

TEST(PolicyTest, ManagedReadOnlyAllowsReadsOnly) {
  const json* ro = ManagedPolicy("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
  ASSERT_NE(ro, nullptr);
  EXPECT_EQ(Eval({*ro}, "s3:GetObject", "arn:aws:s3:::b/k"), Decision::kAllow);
  EXPECT_EQ(Eval({*ro}, "s3:ListBucket", "arn:aws:s3:::b"), Decision::kAllow);
  EXPECT_EQ(Eval({*ro}, "s3:PutObject", "arn:aws:s3:::b/k"), Decision::kImplicitDeny);
  EXPECT_EQ(ManagedPolicy("arn:aws:iam::aws:policy/NoSuchThing"), nullptr);
}

TEST(PolicyTest, ConditionsOnS3PrefixWithStringLikeAndTheNegatedOperators) {
  json p = json::parse(R"({"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b",
      "Condition":{"StringLike":{"s3:prefix":["home/alice/*","shared/"]}}}]})");
  EXPECT_EQ(Eval({p}, "s3:ListBucket", "arn:aws:s3:::b", {{"s3:prefix", "home/alice/x"}}), Decision::kAllow);
  EXPECT_EQ(Eval({p}, "s3:ListBucket", "arn:aws:s3:::b", {{"s3:prefix", "shared/"}}), Decision::kAllow);
  EXPECT_EQ(Eval({p}, "s3:ListBucket", "arn:aws:s3:::b", {{"s3:prefix", "home/bob/"}}), Decision::kImplicitDeny);
  // A key the request lacks matches nothing.
  EXPECT_EQ(Eval({p}, "s3:ListBucket", "arn:aws:s3:::b"), Decision::kImplicitDeny);
  json n = json::parse(R"({"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*",
      "Condition":{"StringNotEquals":{"s3:prefix":"secret/"}}}]})");
  EXPECT_EQ(Eval({n}, "s3:ListBucket", "arn:aws:s3:::b", {{"s3:prefix", "secret/"}}), Decision::kImplicitDeny);
  EXPECT_EQ(Eval({n}, "s3:ListBucket", "arn:aws:s3:::b", {{"s3:prefix", "public/"}}), Decision::kAllow);
  EXPECT_EQ(Eval({n}, "s3:ListBucket", "arn:aws:s3:::b"), Decision::kAllow);
}

TEST(PolicyTest, NotActionAndNotResource) {
  json p = json::parse(R"({"Statement":[{"Effect":"Allow","NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::private/*"}]})");
  EXPECT_EQ(Eval({p}, "s3:GetObject", "arn:aws:s3:::b/k"), Decision::kAllow);
  EXPECT_EQ(Eval({p}, "s3:DeleteObject", "arn:aws:s3:::b/k"), Decision::kImplicitDeny);
  EXPECT_EQ(Eval({p}, "s3:GetObject", "arn:aws:s3:::private/k"), Decision::kImplicitDeny);
}

TEST(PolicyTest, ValidationNamesThePositionAndWhatWasExpected) {
  auto bad = [](const char* text) { return ValidatePolicy(json::parse(text)).message(); };
  EXPECT_EQ(bad(R"({"Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]})"),
            "/Statement/0/Effect: expected \"Allow\" or \"Deny\"");
  EXPECT_NE(bad(R"({"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]})")
                .find("/Statement/0/Condition/IpAddress: unsupported operator"),
            std::string::npos);
  EXPECT_NE(bad(R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]})")
                .find("/Statement/0/Principal"),
            std::string::npos);
  EXPECT_TRUE(ValidatePolicy(*ManagedPolicy("arn:aws:iam::aws:policy/AdministratorAccess")).ok());
}

TEST(PolicyTest, WildcardsNeverBacktrackExponentially) {
  std::string value(5000, 'a');
  EXPECT_FALSE(WildcardMatch("*a*a*a*a*a*a*a*a*a*a*b", value, false));
  EXPECT_TRUE(WildcardMatch("*a*a*a*a*a*a*a*a*a*a*", value, false));
}

}  // namespace
}  // namespace bucketd::iam
