// `bucketctl iam …`: users, access keys and policies, in the words and
// output shapes of `aws iam`. They change <config-dir>/iam.json directly; a
// running bucketd reads the change at its next request.
#include <fcntl.h>

#include <cstdio>

#include "cli/commands.h"
#include "common/file_util.h"
#include "common/time_format.h"
#include "iam/iam_store.h"
#include "iam/policy.h"

namespace bucketd::cli {

using iam::IamData;
using iam::User;

namespace {

using nlohmann::json;

// "2026-12-01T18:41:13+00:00", as `aws iam` prints CreateDate.
std::string IamDate(int64_t unix_nanos) { return FormatUtc(unix_nanos, "%Y-%m-%dT%H:%M:%S+00:00"); }

// IAM's error words: "An error occurred (NoSuchEntity) when calling the
// CreateAccessKey operation: …".
Status IamError(const char* code, const char* operation, const std::string& message) {
  return Status::NotFound(std::string("An error occurred (") + code + ") when calling the " + operation +
                          " operation: " + message);
}

User* FindUser(IamData& data, const std::string& name) {
  auto it = data.users.find(name);
  return it == data.users.end() ? nullptr : &it->second;
}

Status NoSuchUser(const char* operation, const std::string& name) {
  return IamError("NoSuchEntity", operation, "The user with name " + name + " cannot be found.");
}

void Print(const json& j) { std::printf("%s\n", j.dump(4).c_str()); }

// A command whose flags are strings and whose work is a change to the store.
struct IamCommand {
  std::string name;
  std::string help;
  std::vector<std::pair<std::string, std::string>> flags;  // required string flags and their help
  std::function<int(Context&, const std::string& config_dir, const std::map<std::string, std::string>& args)> run;
};

Command Make(IamCommand c) {
  return {c.name, c.help, [c](CLI::App* app) {
            auto args = std::make_shared<std::map<std::string, std::string>>();
            for (const auto& [flag, help] : c.flags) {
              app->add_option("--" + flag, (*args)[flag], help)->required();
            }
            return std::function<int(Context&)>([c, args](Context& ctx) {
              auto dir = ctx.ConfigDir();
              if (!dir.ok()) return Context::Fail(dir.status());
              return c.run(ctx, *dir, *args);
            });
          }};
}

int Update(Context& ctx, const std::string& dir, const std::function<Status(IamData&)>& change) {
  Status s = UpdateIam(ctx.env(), dir, change);
  return s.ok() ? 0 : Context::Fail(s);
}

// "file://F.json" (as aws takes it) or the JSON itself.
Result<json> PolicyDocument(Context& ctx, const std::string& arg, const std::string& operation) {
  std::string text = arg, source = "--policy-document";
  if (arg.rfind("file://", 0) == 0) {
    source = arg.substr(7);
    ASSIGN_OR_RETURN(text, ReadFileToString(ctx.env().fs(), AT_FDCWD, source));
  }
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    return Status::InvalidArgument("An error occurred (MalformedPolicyDocument) when calling the " + operation +
                                   " operation: " + source + " is not JSON");
  }
  Status valid = iam::ValidatePolicy(doc);
  if (!valid.ok()) {
    return Status::InvalidArgument("An error occurred (MalformedPolicyDocument) when calling the " + operation +
                                   " operation: " + source + ": " + valid.message());
  }
  return doc;
}

// Users and roles hold policies alike; the commands on them differ only in
// the entity's words.
struct Holder {
  const char* kind;  // "user"
  const char* Kind;  // "User"
  const char* flag;  // "user-name"
  std::function<iam::Policies*(IamData&, const std::string&)> find;
  std::function<Status(const char* operation, const std::string& name)> missing;
};

const Holder kUser = {"user", "User", "user-name",
                      [](IamData& d, const std::string& name) -> iam::Policies* { return FindUser(d, name); },
                      NoSuchUser};
const Holder kRole = {"role", "Role", "role-name",
                      [](IamData& d, const std::string& name) -> iam::Policies* {
                        auto it = d.roles.find(name);
                        return it == d.roles.end() ? nullptr : &it->second;
                      },
                      [](const char* operation, const std::string& name) {
                        return IamError("NoSuchEntity", operation, "The role with name " + name + " cannot be found.");
                      }};

std::string Words(const char* a, const Holder& h, const char* b) { return std::string(a) + h.Kind + b; }

std::vector<Command> PolicyCommands(const Holder& h) {
  std::vector<Command> cmds;
  std::string kind = h.kind, flag = h.flag;
  auto op = [&h](const char* a, const char* b) { return std::make_shared<const std::string>(Words(a, h, b)); };
  auto attach = op("Attach", "Policy"), detach = op("Detach", "Policy"), put = op("Put", "Policy"),
       del = op("Delete", "Policy"), list_attached = op("ListAttached", "Policies"), list = op("List", "Policies"),
       get = op("Get", "Policy");
  cmds.push_back(Make({"attach-" + kind + "-policy", "attach a managed policy (AdministratorAccess, AmazonS3FullAccess, "
                                                      "AmazonS3ReadOnlyAccess) to a " + kind,
                       {{flag, "the " + kind + "'s name"}, {"policy-arn", "arn:aws:iam::aws:policy/NAME"}},
                       [h, attach](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string &name = a.at(h.flag), &arn = a.at("policy-arn");
                         return Update(ctx, dir, [&](IamData& d) {
                           iam::Policies* p = h.find(d, name);
                           if (p == nullptr) return h.missing(attach->c_str(), name);
                           if (iam::ManagedPolicy(arn) == nullptr) {
                             return IamError("NoSuchEntity", attach->c_str(),
                                             "Policy " + arn + " does not exist or is not attachable (bucketd has "
                                             "AdministratorAccess, AmazonS3FullAccess, AmazonS3ReadOnlyAccess).");
                           }
                           if (std::find(p->attached.begin(), p->attached.end(), arn) == p->attached.end()) {
                             p->attached.push_back(arn);
                           }
                           return Status::OK();
                         });
                       }}));
  cmds.push_back(Make({"detach-" + kind + "-policy", "detach a managed policy from a " + kind,
                       {{flag, "the " + kind + "'s name"}, {"policy-arn", "the policy's ARN"}},
                       [h, detach](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string &name = a.at(h.flag), &arn = a.at("policy-arn");
                         return Update(ctx, dir, [&](IamData& d) {
                           iam::Policies* p = h.find(d, name);
                           if (p == nullptr) return h.missing(detach->c_str(), name);
                           auto it = std::find(p->attached.begin(), p->attached.end(), arn);
                           if (it == p->attached.end()) {
                             return IamError("NoSuchEntity", detach->c_str(), "Policy " + arn + " was not found.");
                           }
                           p->attached.erase(it);
                           return Status::OK();
                         });
                       }}));
  cmds.push_back(Make({"put-" + kind + "-policy", "add or replace a " + kind + "'s inline policy",
                       {{flag, "the " + kind + "'s name"},
                        {"policy-name", "the policy's name"},
                        {"policy-document", "file://F.json, or the JSON itself"}},
                       [h, put](Context& ctx, const std::string& dir, const auto& a) {
                         auto doc = PolicyDocument(ctx, a.at("policy-document"), *put);
                         if (!doc.ok()) return Context::Fail(doc.status());
                         const std::string& name = a.at(h.flag);
                         return Update(ctx, dir, [&](IamData& d) {
                           iam::Policies* p = h.find(d, name);
                           if (p == nullptr) return h.missing(put->c_str(), name);
                           p->inline_policies[a.at("policy-name")] = *doc;
                           return Status::OK();
                         });
                       }}));
  cmds.push_back(Make({"delete-" + kind + "-policy", "delete a " + kind + "'s inline policy",
                       {{flag, "the " + kind + "'s name"}, {"policy-name", "the policy's name"}},
                       [h, del](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string& name = a.at(h.flag);
                         return Update(ctx, dir, [&](IamData& d) {
                           iam::Policies* p = h.find(d, name);
                           if (p == nullptr) return h.missing(del->c_str(), name);
                           if (p->inline_policies.erase(a.at("policy-name")) == 0) {
                             return IamError("NoSuchEntity", del->c_str(),
                                             std::string("The ") + h.kind + " policy with name " +
                                                 a.at("policy-name") + " cannot be found.");
                           }
                           return Status::OK();
                         });
                       }}));
  cmds.push_back(Make({"list-attached-" + kind + "-policies", "list the managed policies attached to a " + kind,
                       {{flag, "the " + kind + "'s name"}},
                       [h, list_attached](Context& ctx, const std::string& dir, const auto& a) {
                         auto data = iam::LoadIam(ctx.env(), dir);
                         if (!data.ok()) return Context::Fail(data.status());
                         iam::Policies* p = h.find(*data, a.at(h.flag));
                         if (p == nullptr) return Context::Fail(h.missing(list_attached->c_str(), a.at(h.flag)));
                         json out = json::array();
                         for (const std::string& arn : p->attached) {
                           out.push_back({{"PolicyName", arn.substr(arn.rfind('/') + 1)}, {"PolicyArn", arn}});
                         }
                         Print({{"AttachedPolicies", out}});
                         return 0;
                       }}));
  cmds.push_back(Make({"list-" + kind + "-policies", "list the names of a " + kind + "'s inline policies",
                       {{flag, "the " + kind + "'s name"}},
                       [h, list](Context& ctx, const std::string& dir, const auto& a) {
                         auto data = iam::LoadIam(ctx.env(), dir);
                         if (!data.ok()) return Context::Fail(data.status());
                         iam::Policies* p = h.find(*data, a.at(h.flag));
                         if (p == nullptr) return Context::Fail(h.missing(list->c_str(), a.at(h.flag)));
                         json names = json::array();
                         for (const auto& [n, doc] : p->inline_policies) names.push_back(n);
                         Print({{"PolicyNames", names}});
                         return 0;
                       }}));
  cmds.push_back(Make({"get-" + kind + "-policy", "print one of a " + kind + "'s inline policies",
                       {{flag, "the " + kind + "'s name"}, {"policy-name", "the policy's name"}},
                       [h, get](Context& ctx, const std::string& dir, const auto& a) {
                         auto data = iam::LoadIam(ctx.env(), dir);
                         if (!data.ok()) return Context::Fail(data.status());
                         iam::Policies* p = h.find(*data, a.at(h.flag));
                         if (p == nullptr) return Context::Fail(h.missing(get->c_str(), a.at(h.flag)));
                         auto it = p->inline_policies.find(a.at("policy-name"));
                         if (it == p->inline_policies.end()) {
                           return Context::Fail(IamError("NoSuchEntity", get->c_str(),
                                                         std::string("The ") + h.kind + " policy with name " +
                                                             a.at("policy-name") + " cannot be found."));
                         }
                         Print({{h.Kind + std::string("Name"), a.at(h.flag)},
                                {"PolicyName", it->first},
                                {"PolicyDocument", it->second}});
                         return 0;
                       }}));
  return cmds;
}

// "file://F.json" or the JSON itself, any JSON object (a trust policy).
Result<json> JsonArgument(Context& ctx, const std::string& arg, const std::string& flag, const std::string& operation) {
  std::string text = arg, source = flag;
  if (arg.rfind("file://", 0) == 0) {
    source = arg.substr(7);
    ASSIGN_OR_RETURN(text, ReadFileToString(ctx.env().fs(), AT_FDCWD, source));
  }
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("An error occurred (MalformedPolicyDocument) when calling the " + operation +
                                   " operation: " + source + " is not a JSON object");
  }
  return doc;
}

std::vector<Command> RoleCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"create-role", "create an IAM role that a service (lambda.amazonaws.com) may assume",
                  [](CLI::App* app) {
                    auto name = std::make_shared<std::string>(), trust = std::make_shared<std::string>(),
                         description = std::make_shared<std::string>(), path = std::make_shared<std::string>("/");
                    auto max_session = std::make_shared<int>(3600);
                    app->add_option("--role-name", *name, "the role's name")->required();
                    app->add_option("--assume-role-policy-document", *trust,
                                    "the trust policy: file://F.json, or the JSON itself")
                        ->required();
                    app->add_option("--description", *description, "what the role is for");
                    app->add_option("--path", *path, "/…/ (default /)");
                    app->add_option("--max-session-duration", *max_session, "3600 to 43200 seconds")
                        ->check(CLI::Range(3600, 43200));
                    return std::function<int(Context&)>([=](Context& ctx) {
                      auto dir = ctx.ConfigDir();
                      if (!dir.ok()) return Context::Fail(dir.status());
                      auto doc = JsonArgument(ctx, *trust, "--assume-role-policy-document", "CreateRole");
                      if (!doc.ok()) return Context::Fail(doc.status());
                      if (path->empty() || path->front() != '/' || path->back() != '/') {
                        return Context::Fail(Status::InvalidArgument(
                            "An error occurred (ValidationError) when calling the CreateRole operation: --path '" +
                            *path + "': expected a path that begins and ends with /"));
                      }
                      iam::Role made;
                      int rc = Update(ctx, *dir, [&](IamData& d) {
                        RETURN_IF_ERROR(iam::ValidateRoleName(*name));
                        if (d.roles.count(*name)) {
                          return IamError("EntityAlreadyExists", "CreateRole",
                                          "Role with name " + *name + " already exists.");
                        }
                        made.name = *name;
                        made.id = iam::NewRoleId(ctx.env().random());
                        made.path = *path;
                        made.description = *description;
                        made.max_session_duration = *max_session;
                        made.create_date = IamDate(ctx.env().clock().NowNanos());
                        made.assume_role_policy = *doc;
                        d.roles[*name] = made;
                        return Status::OK();
                      });
                      if (rc == 0) Print({{"Role", iam::RoleJson(iam::AccountOf(ctx.env(), *dir), made)}});
                      return rc;
                    });
                  }});
  cmds.push_back(Make({"get-role", "print a role", {{"role-name", "the role's name"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         auto data = iam::LoadIam(ctx.env(), dir);
                         if (!data.ok()) return Context::Fail(data.status());
                         auto it = data->roles.find(a.at("role-name"));
                         if (it == data->roles.end()) return Context::Fail(kRole.missing("GetRole", a.at("role-name")));
                         Print({{"Role", iam::RoleJson(iam::AccountOf(ctx.env(), dir), it->second)}});
                         return 0;
                       }}));
  cmds.push_back({"list-roles", "list the IAM roles", [](CLI::App*) {
                    return std::function<int(Context&)>([](Context& ctx) {
                      auto dir = ctx.ConfigDir();
                      if (!dir.ok()) return Context::Fail(dir.status());
                      auto data = iam::LoadIam(ctx.env(), *dir);
                      if (!data.ok()) return Context::Fail(data.status());
                      std::string account = iam::AccountOf(ctx.env(), *dir);
                      json roles = json::array();
                      for (const auto& [name, r] : data->roles) roles.push_back(iam::RoleJson(account, r));
                      Print({{"Roles", roles}});
                      return 0;
                    });
                  }});
  cmds.push_back(Make({"delete-role", "delete a role (it must have no policies left); its sessions end",
                       {{"role-name", "the role's name"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string& name = a.at("role-name");
                         return Update(ctx, dir, [&](IamData& d) {
                           auto it = d.roles.find(name);
                           if (it == d.roles.end()) return kRole.missing("DeleteRole", name);
                           if (!it->second.attached.empty() || !it->second.inline_policies.empty()) {
                             return IamError("DeleteConflict", "DeleteRole",
                                             "Cannot delete entity, must detach all policies first.");
                           }
                           d.roles.erase(it);
                           return Status::OK();
                         });
                       }}));
  for (Command& c : PolicyCommands(kRole)) cmds.push_back(std::move(c));
  return cmds;
}

}  // namespace

std::vector<Command> IamCommands() {
  std::vector<Command> cmds;
  cmds.push_back(Make({"create-user", "create an IAM user", {{"user-name", "the user's name"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string& name = a.at("user-name");
                         User made;
                         int rc = Update(ctx, dir, [&](IamData& d) {
                           RETURN_IF_ERROR(iam::ValidateUserName(name));
                           if (d.users.count(name)) {
                             return IamError("EntityAlreadyExists", "CreateUser",
                                             "User with name " + name + " already exists.");
                           }
                           made.name = name;
                           made.id = iam::NewUserId(ctx.env().random());
                           made.create_date = IamDate(ctx.env().clock().NowNanos());
                           d.users[name] = made;
                           return Status::OK();
                         });
                         if (rc == 0) Print({{"User", iam::UserJson(iam::AccountOf(ctx.env(), dir), made)}});
                         return rc;
                       }}));
  cmds.push_back(Make({"delete-user", "delete an IAM user (it must have no access keys left)",
                       {{"user-name", "the user's name"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string& name = a.at("user-name");
                         return Update(ctx, dir, [&](IamData& d) {
                           User* u = FindUser(d, name);
                           if (u == nullptr) return NoSuchUser("DeleteUser", name);
                           if (!u->keys.empty()) {
                             return IamError("DeleteConflict", "DeleteUser",
                                             "Cannot delete entity, must delete access keys first.");
                           }
                           d.users.erase(name);
                           return Status::OK();
                         });
                       }}));
  cmds.push_back({"list-users", "list the IAM users", [](CLI::App*) {
                    return std::function<int(Context&)>([](Context& ctx) {
                      auto dir = ctx.ConfigDir();
                      if (!dir.ok()) return Context::Fail(dir.status());
                      auto data = iam::LoadIam(ctx.env(), *dir);
                      if (!data.ok()) return Context::Fail(data.status());
                      std::string account = iam::AccountOf(ctx.env(), *dir);
                      json users = json::array();
                      for (const auto& [name, u] : data->users) users.push_back(iam::UserJson(account, u));
                      Print({{"Users", users}});
                      return 0;
                    });
                  }});
  for (Command& c : PolicyCommands(kUser)) cmds.push_back(std::move(c));
  cmds.push_back(Make({"create-access-key", "make an access key for a user; its secret is printed this once",
                       {{"user-name", "the user's name"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string& name = a.at("user-name");
                         iam::AccessKey key;
                         int rc = Update(ctx, dir, [&](IamData& d) {
                           User* u = FindUser(d, name);
                           if (u == nullptr) return NoSuchUser("CreateAccessKey", name);
                           if (u->keys.size() >= 2) {
                             return IamError("LimitExceeded", "CreateAccessKey",
                                             "Cannot exceed quota for AccessKeysPerUser: 2");
                           }
                           key.id = iam::NewAccessKeyId(ctx.env().random());
                           key.secret = iam::NewSecretAccessKey();
                           key.create_date = IamDate(ctx.env().clock().NowNanos());
                           u->keys.push_back(key);
                           return Status::OK();
                         });
                         if (rc == 0) {
                           Print({{"AccessKey",
                                   {{"UserName", name},
                                    {"AccessKeyId", key.id},
                                    {"Status", key.status},
                                    {"SecretAccessKey", key.secret},
                                    {"CreateDate", key.create_date}}}});
                         }
                         return rc;
                       }}));
  cmds.push_back(Make({"list-access-keys", "list a user's access keys (never their secrets)",
                       {{"user-name", "the user's name"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         auto data = iam::LoadIam(ctx.env(), dir);
                         if (!data.ok()) return Context::Fail(data.status());
                         User* u = FindUser(*data, a.at("user-name"));
                         if (u == nullptr) return Context::Fail(NoSuchUser("ListAccessKeys", a.at("user-name")));
                         json keys = json::array();
                         for (const auto& k : u->keys) {
                           keys.push_back({{"UserName", u->name},
                                           {"AccessKeyId", k.id},
                                           {"Status", k.status},
                                           {"CreateDate", k.create_date}});
                         }
                         Print({{"AccessKeyMetadata", keys}});
                         return 0;
                       }}));
  cmds.push_back(Make({"delete-access-key", "delete one of a user's access keys",
                       {{"user-name", "the user's name"}, {"access-key-id", "the key's id"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string &name = a.at("user-name"), &id = a.at("access-key-id");
                         return Update(ctx, dir, [&](IamData& d) {
                           User* u = FindUser(d, name);
                           if (u == nullptr) return NoSuchUser("DeleteAccessKey", name);
                           auto it = std::find_if(u->keys.begin(), u->keys.end(),
                                                  [&](const iam::AccessKey& k) { return k.id == id; });
                           if (it == u->keys.end()) {
                             return IamError("NoSuchEntity", "DeleteAccessKey",
                                             "The Access Key with id " + id + " cannot be found.");
                           }
                           u->keys.erase(it);
                           return Status::OK();
                         });
                       }}));
  for (Command& c : RoleCommands()) cmds.push_back(std::move(c));
  return cmds;
}

}  // namespace bucketd::cli
