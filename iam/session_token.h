// Temporary credentials (STS GetSessionToken's, and the Lambda runtime's
// later): an access key id "ASIA…", a secret and a session token, valid
// until an expiry, standing for an IAM user's long-term key.
//
// Stateless: the token carries its claims (user, the long-term key it was
// made with, its own key id, issue and expiry time) under an HMAC of a key
// only bucketd holds (derived from the store's metadata key, so tokens
// survive a restart); the secret is a second HMAC of the same claims. A
// request signed with the secret and carrying the token proves both. The
// long-term key must still be active when a session is used: deleting or
// deactivating it ends its sessions too (AWS lets them run to expiry; this
// is the safer side).
#ifndef BUCKETD_IAM_SESSION_TOKEN_H_
#define BUCKETD_IAM_SESSION_TOKEN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/status.h"

namespace bucketd::iam {

struct SessionClaims {
  std::string user_name;
  std::string parent_key_id;  // the long-term key GetSessionToken was called with
  // A role's session (a service assumed the role): the role and the
  // session's name; then user_name and parent_key_id are empty.
  std::string role_name;
  std::string session_name;
  std::string access_key_id;  // "ASIA" + 16
  int64_t issued_ns = 0;
  int64_t expires_ns = 0;
};

struct SessionCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  int64_t expires_ns = 0;
};

inline constexpr int64_t kMinSessionSeconds = 900;
inline constexpr int64_t kMaxSessionSeconds = 129600;
inline constexpr int64_t kDefaultSessionSeconds = 43200;

// Credentials for `claims` (its access_key_id filled in when empty).
SessionCredentials MintSession(std::string_view session_key, SessionClaims claims, Random& random);

// The claims of `token`, checked: InvalidArgument ("malformed or otherwise
// invalid": not bucketd's, edited, or for another key id than
// `access_key_id`), or PreconditionFailed when it has expired.
Result<SessionClaims> VerifySession(std::string_view session_key, std::string_view access_key_id,
                                    std::string_view token, int64_t now_ns);

// The secret that belongs to a verified token.
std::string SessionSecret(std::string_view session_key, std::string_view token);

// Credentials for the role `role_arn` names, assumed by `service`
// ("lambda.amazonaws.com") for a session called `session_name` (the
// function's name), valid `seconds`. NotFound when the store has no such
// role, PermissionDenied when its trust policy does not let the service
// assume it — both naming the role.
Result<SessionCredentials> AssumeRoleForService(Env& env, const std::string& config_dir, std::string_view session_key,
                                                const std::string& role_arn, const std::string& service,
                                                const std::string& session_name, int64_t seconds);

}  // namespace bucketd::iam

#endif  // BUCKETD_IAM_SESSION_TOKEN_H_
