// IAM users, their access keys, roles and their policies: kept in
// <config-dir>/iam.json, mode 0600 (it holds secret keys), written by
// `bucketctl iam …` (atomically, under a lock) and read by bucketd's API
// endpoint, which picks a change up at its next request (Directory).
//
// Format (docs/formats.md, "IAM store"):
//   {"v": 1, "Users": {"NAME": {"UserId", "Path", "CreateDate",
//     "AttachedPolicies": ["arn:aws:iam::aws:policy/…"],
//     "InlinePolicies": {"P": {policy document}},
//     "AccessKeys": [{"AccessKeyId", "SecretAccessKey", "Status", "CreateDate"}]}},
//   "Roles": {"NAME": {"RoleId", "Path", "CreateDate", "Description", "MaxSessionDuration",
//     "AssumeRolePolicyDocument": {trust policy}, "AttachedPolicies", "InlinePolicies"}}}
// A role has no keys: a service that may assume it (its trust policy names
// the service principal, e.g. lambda.amazonaws.com) is given temporary
// credentials for it (iam/session_token.h).
// ARNs are not stored: they are made with the account bucketd's records
// carry (bucketd.json's Trail.Account), so both always agree.
#ifndef BUCKETD_IAM_IAM_STORE_H_
#define BUCKETD_IAM_IAM_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.h"
#include "common/file_util.h"
#include "common/status.h"

namespace bucketd::iam {

struct SessionClaims;

inline constexpr char kIamFile[] = "iam.json";
inline constexpr char kDefaultAccount[] = "000000000000";

struct AccessKey {
  std::string id;
  std::string secret;
  std::string status = "Active";  // or "Inactive"
  std::string create_date;        // ISO 8601, as IAM prints it
};

// What users and roles share: the policies that say what they may do.
struct Policies {
  std::vector<std::string> attached;                     // managed policy ARNs
  std::map<std::string, nlohmann::json> inline_policies;  // name -> document
};

struct User : Policies {
  std::string name;
  std::string id;  // "AIDA…"
  std::string path = "/";
  std::string create_date;
  std::vector<AccessKey> keys;
};

struct Role : Policies {
  std::string name;
  std::string id;  // "AROA…"
  std::string path = "/";
  std::string create_date;
  std::string description;
  int max_session_duration = 3600;
  nlohmann::json assume_role_policy = nlohmann::json::object();  // the trust policy
};

struct IamData {
  std::map<std::string, User> users;
  std::map<std::string, Role> roles;
};

// The account in <config-dir>/bucketd.json (Trail.Account), else the default.
std::string AccountOf(Env& env, const std::string& config_dir);
// Trail.<field> in <config-dir>/bucketd.json ("Region"), else `fallback`.
std::string TrailSettingOf(Env& env, const std::string& config_dir, const char* field, const std::string& fallback);
std::string UserArn(const std::string& account, const User& user);
// IAM's shape of a user ({"Path","UserName","UserId","Arn","CreateDate"}).
nlohmann::json UserJson(const std::string& account, const User& user);
std::string RoleArn(const std::string& account, const Role& role);
// IAM's shape of a role (GetRole's: Path, RoleName, RoleId, Arn, CreateDate,
// AssumeRolePolicyDocument, Description, MaxSessionDuration).
nlohmann::json RoleJson(const std::string& account, const Role& role);
// "arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION", as AWS names a role's session.
std::string AssumedRoleArn(const std::string& account, const std::string& role, const std::string& session);
// The role an "arn:aws:iam::ACCOUNT:role/[PATH/]NAME" names, or null.
const Role* FindRoleByArn(const IamData& data, const std::string& account, std::string_view arn);
// Whether the role's trust policy lets `service` ("lambda.amazonaws.com")
// assume it (an Allow of sts:AssumeRole for that service principal, no Deny).
bool TrustsService(const Role& role, std::string_view service);

// Reads the store; empty when there is none. PermissionDenied when others
// may read it (naming the file and the fix), Corruption naming the position.
Result<IamData> LoadIam(Env& env, const std::string& config_dir);
// Loads, applies `change` and writes the store back (temp file, fsync,
// rename), holding <config-dir>/.iam.lock so concurrent bucketctls do not
// lose each other's change. Run as root, the file is given to bucketd's user
// (the "bucketd" account, when there is one) so that bucketd can read it.
Status UpdateIam(Env& env, const std::string& config_dir, const std::function<Status(IamData&)>& change);

// IAM's name rules: 1-64 of [A-Za-z0-9+=,.@_-].
Status ValidateUserName(std::string_view name);
Status ValidateRoleName(std::string_view name);
// "AKIA" + 16 upper-case letters and digits; 40 characters of base64 alphabet.
std::string NewAccessKeyId(Random& random);
std::string NewSecretAccessKey();
std::string NewUserId(Random& random);
std::string NewRoleId(Random& random);

// Who made a request, once its access key is known.
struct Principal {
  std::string user_name;
  std::string user_id;
  std::string arn;
  std::string account;
  std::string access_key_id;
  // Attached managed ones and inline ones; shared with the Directory's
  // snapshot, so a request copies pointers, not documents.
  std::vector<std::shared_ptr<const nlohmann::json>> policies;
  // Temporary credentials (iam/session_token.h): when they were issued; 0
  // for a long-term key.
  int64_t session_issued_ns = 0;
  // "IAMUser", or "AssumedRole" for a role's session: then user_name is the
  // session's name, user_id "ROLEID:SESSION", arn the assumed-role ARN, and
  // the role is the session's issuer.
  std::string type = "IAMUser";
  std::string role_name, role_id, role_arn;
};

// The endpoint's view of the store: looks keys up, re-reading the file when
// it changed (its inode, size or mtime). The file is looked at at most every
// FileWatch::kRecheckNanos, and always before a key is called unknown: a new
// key works at its first request, a deleted or deactivated one stops within
// 100 ms. Thread-safe.
class Directory {
 public:
  Directory(Env& env, std::string config_dir, std::string account);
  // The principal and secret of an active key; NotFound for an unknown or
  // inactive one (S3 InvalidAccessKeyId).
  Result<std::pair<Principal, std::string>> Lookup(std::string_view access_key_id);
  // The key session tokens are made and verified with (iam/session_token.h);
  // without one, every token is refused. Set before the first request.
  void set_session_key(std::string key) { session_key_ = std::move(key); }
  const std::string& session_key() const { return session_key_; }
  // The principal and secret of temporary credentials: the token verified
  // and the long-term key it was made with still active (a role's session:
  // the role still there, with its policies of now). InvalidArgument
  // (S3 InvalidToken), PreconditionFailed (ExpiredToken), NotFound (the
  // long-term key or the role is gone: InvalidAccessKeyId).
  Result<std::pair<Principal, std::string>> LookupSession(std::string_view access_key_id, std::string_view token,
                                                          int64_t now_ns);

 private:
  struct Entry {
    Principal principal;
    std::string secret;
  };
  Status Refresh(bool force);
  Result<std::pair<Principal, std::string>> LookupRoleSession(const SessionClaims& claims, std::string secret);
  struct RoleEntry {
    std::string id, arn;
    std::vector<std::shared_ptr<const nlohmann::json>> policies;
  };
  Env& env_;
  const std::string config_dir_;
  const std::string account_;
  std::mutex mu_;
  FileWatch watch_;
  std::map<std::string, Entry, std::less<>> active_keys_;
  std::map<std::string, RoleEntry, std::less<>> roles_;
  Status last_error_;
  std::string session_key_;
};

}  // namespace bucketd::iam

#endif  // BUCKETD_IAM_IAM_STORE_H_
