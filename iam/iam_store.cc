#include "iam/iam_store.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <cstdio>

#include "common/file_util.h"
#include "common/time_format.h"
#include "iam/policy.h"
#include "iam/session_token.h"

namespace bucketd::iam {
namespace {

using nlohmann::json;

constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";  // IAM ids use base32's letters and digits

std::string RandomId(Random& random, std::string prefix, size_t n) {
  for (size_t i = 0; i < n; ++i) prefix.push_back(kAlnum[random.Next() % 32]);
  return prefix;
}

std::string FilePath(const std::string& config_dir) { return config_dir + "/" + kIamFile; }

json PoliciesJson(const Policies& p) {
  json inline_policies = json::object();
  for (const auto& [pname, doc] : p.inline_policies) inline_policies[pname] = doc;
  return {{"AttachedPolicies", p.attached}, {"InlinePolicies", inline_policies}};
}

json ToJson(const IamData& data) {
  json users = json::object();
  for (const auto& [name, u] : data.users) {
    json keys = json::array();
    for (const AccessKey& k : u.keys) {
      keys.push_back({{"AccessKeyId", k.id},
                      {"SecretAccessKey", k.secret},
                      {"Status", k.status},
                      {"CreateDate", k.create_date}});
    }
    users[name] = {{"UserId", u.id}, {"Path", u.path}, {"CreateDate", u.create_date}, {"AccessKeys", keys}};
    users[name].update(PoliciesJson(u));
  }
  json roles = json::object();
  for (const auto& [name, r] : data.roles) {
    roles[name] = {{"RoleId", r.id},
                   {"Path", r.path},
                   {"CreateDate", r.create_date},
                   {"Description", r.description},
                   {"MaxSessionDuration", r.max_session_duration},
                   {"AssumeRolePolicyDocument", r.assume_role_policy}};
    roles[name].update(PoliciesJson(r));
  }
  return {{"v", 1}, {"Users", users}, {"Roles", roles}};
}

Status Field(const json& obj, const char* name, const std::string& at, std::string* out) {
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_string()) return Status::Corruption(at + "/" + name + ": expected a string");
  *out = it->get<std::string>();
  return Status::OK();
}

Status ReadPolicies(const json& j, const std::string& at, Policies* p) {
  for (const json& a : j.value("AttachedPolicies", json::array())) {
    if (!a.is_string()) return Status::Corruption(at + "/AttachedPolicies: expected ARNs");
    p->attached.push_back(a.get<std::string>());
  }
  // A named copy: items() of value()'s temporary would outlive it.
  const json inline_policies = j.value("InlinePolicies", json::object());
  for (const auto& [pname, doc] : inline_policies.items()) p->inline_policies[pname] = doc;
  return Status::OK();
}

Result<IamData> FromJson(const json& j, const std::string& file) {
  IamData data;
  if (!j.is_object() || j.value("v", 0) != 1 || !j.contains("Users") || !j["Users"].is_object()) {
    return Status::Corruption(file + ": expected {\"v\": 1, \"Users\": {…}}");
  }
  for (const auto& [name, u] : j["Users"].items()) {
    std::string at = file + ": /Users/" + name;
    if (!u.is_object()) return Status::Corruption(at + ": expected an object");
    User user;
    user.name = name;
    RETURN_IF_ERROR(Field(u, "UserId", at, &user.id));
    RETURN_IF_ERROR(Field(u, "Path", at, &user.path));
    RETURN_IF_ERROR(Field(u, "CreateDate", at, &user.create_date));
    RETURN_IF_ERROR(ReadPolicies(u, at, &user));
    const json keys = u.value("AccessKeys", json::array());
    for (size_t i = 0; i < keys.size(); ++i) {
      std::string kat = at + "/AccessKeys/" + std::to_string(i);
      AccessKey k;
      RETURN_IF_ERROR(Field(keys[i], "AccessKeyId", kat, &k.id));
      RETURN_IF_ERROR(Field(keys[i], "SecretAccessKey", kat, &k.secret));
      RETURN_IF_ERROR(Field(keys[i], "Status", kat, &k.status));
      RETURN_IF_ERROR(Field(keys[i], "CreateDate", kat, &k.create_date));
      user.keys.push_back(std::move(k));
    }
    data.users[name] = std::move(user);
  }
  // A store written before roles existed has none.
  const json roles = j.value("Roles", json::object());
  if (!roles.is_object()) return Status::Corruption(file + ": /Roles: expected an object");
  for (const auto& [name, r] : roles.items()) {
    std::string at = file + ": /Roles/" + name;
    if (!r.is_object()) return Status::Corruption(at + ": expected an object");
    Role role;
    role.name = name;
    RETURN_IF_ERROR(Field(r, "RoleId", at, &role.id));
    RETURN_IF_ERROR(Field(r, "Path", at, &role.path));
    RETURN_IF_ERROR(Field(r, "CreateDate", at, &role.create_date));
    role.description = r.value("Description", "");
    role.max_session_duration = r.value("MaxSessionDuration", 3600);
    role.assume_role_policy = r.value("AssumeRolePolicyDocument", json::object());
    RETURN_IF_ERROR(ReadPolicies(r, at, &role));
    data.roles[name] = std::move(role);
  }
  return data;
}

Result<IamData> Parse(const std::string& text, const std::string& file) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return Status::Corruption(file + ": not JSON (run `bucketctl iam list-users` after restoring it from a backup)");
  }
  try {
    return FromJson(j, file);
  } catch (const json::exception& e) {  // a field of another type than bucketctl writes
    return Status::Corruption(file + ": " + e.what());
  }
}

}  // namespace

std::string TrailSettingOf(Env& env, const std::string& config_dir, const char* field, const std::string& fallback) {
  auto text = ReadFileToString(env.fs(), AT_FDCWD, config_dir + "/bucketd.json");
  if (!text.ok()) return fallback;
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("Trail") || !j["Trail"].is_object()) return fallback;
  auto a = j["Trail"].find(field);
  return a != j["Trail"].end() && a->is_string() ? a->get<std::string>() : fallback;
}

std::string AccountOf(Env& env, const std::string& config_dir) {
  return TrailSettingOf(env, config_dir, "Account", kDefaultAccount);
}

std::string UserArn(const std::string& account, const User& user) {
  return "arn:aws:iam::" + account + ":user" + user.path + user.name;
}

json UserJson(const std::string& account, const User& user) {
  return {{"Path", user.path},
          {"UserName", user.name},
          {"UserId", user.id},
          {"Arn", UserArn(account, user)},
          {"CreateDate", user.create_date}};
}

std::string RoleArn(const std::string& account, const Role& role) {
  return "arn:aws:iam::" + account + ":role" + role.path + role.name;
}

json RoleJson(const std::string& account, const Role& role) {
  json j = {{"Path", role.path},
            {"RoleName", role.name},
            {"RoleId", role.id},
            {"Arn", RoleArn(account, role)},
            {"CreateDate", role.create_date},
            {"AssumeRolePolicyDocument", role.assume_role_policy},
            {"MaxSessionDuration", role.max_session_duration}};
  if (!role.description.empty()) j["Description"] = role.description;
  return j;
}

std::string AssumedRoleArn(const std::string& account, const std::string& role, const std::string& session) {
  return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session;
}

const Role* FindRoleByArn(const IamData& data, const std::string& account, std::string_view arn) {
  size_t slash = arn.rfind('/');
  if (slash == std::string_view::npos) return nullptr;
  auto it = data.roles.find(std::string(arn.substr(slash + 1)));
  if (it == data.roles.end() || RoleArn(account, it->second) != arn) return nullptr;
  return &it->second;
}

bool TrustsService(const Role& role, std::string_view service) {
  auto list = [](const json& v) {
    if (v.is_string()) return json::array({v});
    return v.is_array() ? v : json::array();
  };
  auto names = [&](const json& stmt) {
    if (!stmt.contains("Principal") || !stmt["Principal"].is_object()) return false;
    for (const json& s : list(stmt["Principal"].value("Service", json()))) {
      if (s == service) return true;
    }
    return false;
  };
  auto assumes = [&](const json& stmt) {
    for (const json& a : list(stmt.value("Action", json()))) {
      if (a == "sts:AssumeRole" || a == "sts:*" || a == "*") return true;
    }
    return false;
  };
  bool allowed = false;
  for (const json& stmt : list(role.assume_role_policy.value("Statement", json()))) {
    if (!stmt.is_object() || !names(stmt) || !assumes(stmt)) continue;
    if (stmt.value("Effect", "") == "Deny") return false;
    if (stmt.value("Effect", "") == "Allow") allowed = true;
  }
  return allowed;
}

Result<IamData> LoadIam(Env& env, const std::string& config_dir) {
  std::string file = FilePath(config_dir);
  auto fd = env.fs().OpenAt(AT_FDCWD, file, O_RDONLY | O_NOFOLLOW);
  if (!fd.ok() && fd.status().IsNotFound()) return IamData{};
  if (!fd.ok()) return Status(fd.status().code(), file + ": " + fd.status().message());
  ASSIGN_OR_RETURN(FileStat st, env.fs().Stat(fd->get()));
  if ((st.mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", static_cast<unsigned>(st.mode & 0777));
    return Status::PermissionDenied(file + " holds secret keys but others may read it (mode " + mode +
                                    "): chmod 600 it");
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, env.fs().Read(fd->get(), buf, sizeof(buf)));
    if (n == 0) break;
    text.append(buf, n);
  }
  return Parse(text, file);
}

Status UpdateIam(Env& env, const std::string& config_dir, const std::function<Status(IamData&)>& change) {
  Fs& fs = env.fs();
  ASSIGN_OR_RETURN(UniqueFd lock, fs.OpenAt(AT_FDCWD, config_dir + "/.iam.lock", O_RDWR | O_CREAT | O_NOFOLLOW, 0600));
  RETURN_IF_ERROR(fs.Lock(lock.get(), true, true).status());
  ASSIGN_OR_RETURN(IamData data, LoadIam(env, config_dir));
  RETURN_IF_ERROR(change(data));
  return WriteFileAtomically(fs, config_dir, kIamFile, ToJson(data).dump(2) + "\n", 0600,
                             [&](int fd) {
                               if (::geteuid() != 0) return Status::OK();
                               // bucketd runs as its own user and must read what root wrote.
                               struct passwd pw, *found = nullptr;
                               char pwbuf[4096];
                               if (getpwnam_r("bucketd", &pw, pwbuf, sizeof(pwbuf), &found) != 0 || found == nullptr) {
                                 return Status::OK();
                               }
                               return fs.Fchown(fd, pw.pw_uid, pw.pw_gid);
                             });
}

namespace {

Status ValidateName(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return Status::InvalidArgument(std::string(what) + " '" + std::string(name) + "': expected 1 to 64 characters");
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("+=,.@_-").find(c) == std::string_view::npos) {
      return Status::InvalidArgument(std::string(what) + " '" + std::string(name) +
                                     "': expected letters, digits and +=,.@_- only");
    }
  }
  return Status::OK();
}

}  // namespace

Status ValidateUserName(std::string_view name) { return ValidateName("user name", name); }
Status ValidateRoleName(std::string_view name) { return ValidateName("role name", name); }

std::string NewAccessKeyId(Random& random) { return RandomId(random, "AKIA", 16); }
std::string NewUserId(Random& random) { return RandomId(random, "AIDA", 17); }
std::string NewRoleId(Random& random) { return RandomId(random, "AROA", 17); }

std::string NewSecretAccessKey() {
  // 30 bytes from OpenSSL's CSPRNG as 40 characters of base64.
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned char bytes[30];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();  // no entropy: nothing safe to hand out
  std::string out;
  for (size_t i = 0; i < sizeof(bytes); i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
  }
  return out;
}

Directory::Directory(Env& env, std::string config_dir, std::string account)
    : env_(env), config_dir_(std::move(config_dir)), account_(std::move(account)), watch_(FilePath(config_dir_)) {}

Status Directory::Refresh(bool force) {
  if (config_dir_.empty()) return Status::OK();
  ASSIGN_OR_RETURN(bool changed, watch_.Changed(env_.fs(), env_.clock().NowNanos(), force));
  if (!changed) return last_error_;
  active_keys_.clear();
  roles_.clear();
  if (!watch_.exists()) return last_error_ = Status::OK();
  auto loaded = LoadIam(env_, config_dir_);
  last_error_ = loaded.status();
  // A damaged file keeps no stale keys working.
  if (!loaded.ok()) return last_error_;
  auto shared = [](const Policies& p) {
    std::vector<std::shared_ptr<const json>> policies;
    for (const std::string& arn : p.attached) {
      if (const json* m = ManagedPolicy(arn)) policies.push_back(std::make_shared<const json>(*m));
    }
    for (const auto& [pname, doc] : p.inline_policies) policies.push_back(std::make_shared<const json>(doc));
    return policies;
  };
  for (const auto& [name, r] : loaded->roles) roles_[name] = RoleEntry{r.id, RoleArn(account_, r), shared(r)};
  for (const auto& [name, u] : loaded->users) {
    std::vector<std::shared_ptr<const json>> policies = shared(u);
    for (const AccessKey& k : u.keys) {
      if (k.status != "Active") continue;
      Principal p;
      p.user_name = u.name;
      p.user_id = u.id;
      p.arn = UserArn(account_, u);
      p.account = account_;
      p.access_key_id = k.id;
      p.policies = policies;
      active_keys_[k.id] = Entry{std::move(p), k.secret};
    }
  }
  return last_error_;
}

Result<std::pair<Principal, std::string>> Directory::Lookup(std::string_view access_key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(Refresh(false));
  auto it = active_keys_.find(access_key_id);
  if (it == active_keys_.end()) {
    RETURN_IF_ERROR(Refresh(true));
    it = active_keys_.find(access_key_id);
  }
  if (it == active_keys_.end()) {
    return Status::NotFound("The AWS Access Key Id you provided does not exist in our records.");
  }
  return std::make_pair(it->second.principal, it->second.secret);
}

Result<std::pair<Principal, std::string>> Directory::LookupSession(std::string_view access_key_id,
                                                                   std::string_view token, int64_t now_ns) {
  ASSIGN_OR_RETURN(SessionClaims claims, VerifySession(session_key_, access_key_id, token, now_ns));
  if (!claims.role_name.empty()) return LookupRoleSession(claims, SessionSecret(session_key_, token));
  ASSIGN_OR_RETURN(auto parent, Lookup(claims.parent_key_id));
  if (parent.first.user_name != claims.user_name) {
    return Status::NotFound("The AWS Access Key Id you provided does not exist in our records.");
  }
  parent.first.access_key_id = claims.access_key_id;
  parent.first.session_issued_ns = claims.issued_ns;
  return std::make_pair(std::move(parent.first), SessionSecret(session_key_, token));
}

Result<std::pair<Principal, std::string>> Directory::LookupRoleSession(const SessionClaims& claims,
                                                                       std::string secret) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(Refresh(false));
  auto it = roles_.find(claims.role_name);
  if (it == roles_.end()) {
    RETURN_IF_ERROR(Refresh(true));
    it = roles_.find(claims.role_name);
  }
  if (it == roles_.end()) {
    return Status::NotFound("The AWS Access Key Id you provided does not exist in our records.");
  }
  Principal p;
  p.type = "AssumedRole";
  p.user_name = claims.session_name;
  p.user_id = it->second.id + ":" + claims.session_name;
  p.arn = AssumedRoleArn(account_, claims.role_name, claims.session_name);
  p.account = account_;
  p.access_key_id = claims.access_key_id;
  p.policies = it->second.policies;
  p.session_issued_ns = claims.issued_ns;
  p.role_name = claims.role_name;
  p.role_id = it->second.id;
  p.role_arn = it->second.arn;
  return std::make_pair(std::move(p), std::move(secret));
}

}  // namespace bucketd::iam
