#include "iam/session_token.h"

#include <nlohmann/json.hpp>

#include "common/md5.h"
#include "iam/iam_store.h"

namespace bucketd::iam {
namespace {

constexpr std::string_view kTokenPrefix = "bucketd-session-v1.";

std::string Mac(std::string_view session_key, std::string_view purpose, std::string_view payload) {
  return HmacSha256(session_key, std::string(purpose) + "\n" + std::string(payload));
}

}  // namespace

SessionCredentials MintSession(std::string_view session_key, SessionClaims claims, Random& random) {
  if (claims.access_key_id.empty()) claims.access_key_id = "ASIA" + NewAccessKeyId(random).substr(4);
  nlohmann::json j = {{"u", claims.user_name},
                      {"k", claims.parent_key_id},
                      {"id", claims.access_key_id},
                      {"iat", claims.issued_ns},
                      {"exp", claims.expires_ns}};
  if (!claims.role_name.empty()) {
    j["r"] = claims.role_name;
    j["s"] = claims.session_name;
  }
  std::string payload = Base64Encode(j.dump());
  SessionCredentials c;
  c.access_key_id = claims.access_key_id;
  c.session_token = std::string(kTokenPrefix) + payload + "." + HexEncode(Mac(session_key, "token", payload));
  c.secret_access_key = SessionSecret(session_key, c.session_token);
  c.expires_ns = claims.expires_ns;
  return c;
}

std::string SessionSecret(std::string_view session_key, std::string_view token) {
  return Base64Encode(Mac(session_key, "secret", token)).substr(0, 40);
}

Result<SessionClaims> VerifySession(std::string_view session_key, std::string_view access_key_id,
                                    std::string_view token, int64_t now_ns) {
  auto invalid = [] { return Status::InvalidArgument("The provided token is malformed or otherwise invalid."); };
  if (session_key.empty() || token.size() > 4096 || token.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return invalid();
  }
  std::string_view rest = token.substr(kTokenPrefix.size());
  size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return invalid();
  std::string_view payload = rest.substr(0, dot);
  if (!ConstantTimeEquals(HexEncode(Mac(session_key, "token", payload)), rest.substr(dot + 1))) return invalid();
  std::string text;
  if (!Base64Decode(payload, &text)) return invalid();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  SessionClaims c;
  try {
    c.user_name = j.at("u").get<std::string>();
    c.parent_key_id = j.at("k").get<std::string>();
    c.access_key_id = j.at("id").get<std::string>();
    c.issued_ns = j.at("iat").get<int64_t>();
    c.expires_ns = j.at("exp").get<int64_t>();
    c.role_name = j.value("r", "");
    c.session_name = j.value("s", "");
  } catch (const nlohmann::json::exception&) {
    return invalid();  // under bucketd's own MAC this cannot be; never an exception
  }
  if (c.access_key_id != access_key_id) return invalid();
  if (now_ns >= c.expires_ns) return Status::PreconditionFailed("The provided token has expired.");
  return c;
}

Result<SessionCredentials> AssumeRoleForService(Env& env, const std::string& config_dir, std::string_view session_key,
                                                const std::string& role_arn, const std::string& service,
                                                const std::string& session_name, int64_t seconds) {
  ASSIGN_OR_RETURN(IamData data, LoadIam(env, config_dir));
  std::string account = AccountOf(env, config_dir);
  const Role* role = FindRoleByArn(data, account, role_arn);
  if (role == nullptr) {
    return Status::NotFound("role " + role_arn + " does not exist (make it with `bucketctl iam create-role`)");
  }
  if (!TrustsService(*role, service)) {
    return Status::PermissionDenied("role " + role_arn + " cannot be assumed by " + service +
                                    ": its trust policy (AssumeRolePolicyDocument) must allow sts:AssumeRole to "
                                    "the Service principal " + service);
  }
  int64_t now = env.clock().NowNanos();
  SessionClaims claims;
  claims.role_name = role->name;
  claims.session_name = session_name;
  claims.issued_ns = now;
  claims.expires_ns = now + seconds * kNanosPerSecond;
  return MintSession(session_key, std::move(claims), env.random());
}

}  // namespace bucketd::iam
