// IAM policy documents and their evaluation, as AWS evaluates identity
// policies: an explicit Deny in any statement wins, else an Allow, else the
// request is denied by default.
//
// Supported: Version, Statement (one object or a list), Sid, Effect,
// Action / NotAction (case-insensitive, wildcards * and ?), Resource /
// NotResource (ARNs, wildcards, case-sensitive), Condition with the string
// operators StringEquals, StringNotEquals, StringEqualsIgnoreCase,
// StringNotEqualsIgnoreCase, StringLike, StringNotLike (each also with
// "IfExists"), a value or a list of values per key. Other operators are
// refused when the policy is stored (MalformedPolicyDocument), never
// silently ignored.
//
// Thread-safety: pure functions.
#ifndef BUCKETD_IAM_POLICY_H_
#define BUCKETD_IAM_POLICY_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace bucketd::iam {

enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

struct AuthzRequest {
  std::string action;    // "s3:GetObject"
  std::string resource;  // "arn:aws:s3:::bucket/key"
  std::map<std::string, std::string> context;  // condition keys: "s3:prefix", "aws:SourceIp", …
};

// InvalidArgument naming the position (JSON pointer) and what was expected.
Status ValidatePolicy(const nlohmann::json& document);

Decision Evaluate(const std::vector<const nlohmann::json*>& policies, const AuthzRequest& request);

// The AWS-managed policies the workflows use, by ARN
// ("arn:aws:iam::aws:policy/AdministratorAccess", AmazonS3FullAccess,
// AmazonS3ReadOnlyAccess); nullptr for any other.
const nlohmann::json* ManagedPolicy(std::string_view arn);

// IAM's wildcard match: '*' any run, '?' one character.
bool WildcardMatch(std::string_view pattern, std::string_view value, bool ignore_case);

}  // namespace bucketd::iam

#endif  // BUCKETD_IAM_POLICY_H_
