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
  const char* name;
  const char* help;
  std::vector<std::pair<const char*, const char*>> flags;  // required string flags and their help
  std::function<int(Context&, const std::string& config_dir, const std::map<std::string, std::string>& args)> run;
};

Command Make(IamCommand c) {
  return {c.name, c.help, [c](CLI::App* app) {
            auto args = std::make_shared<std::map<std::string, std::string>>();
            for (const auto& [flag, help] : c.flags) {
              app->add_option(std::string("--") + flag, (*args)[flag], help)->required();
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
Result<json> PolicyDocument(Context& ctx, const std::string& arg) {
  std::string text = arg, source = "--policy-document";
  if (arg.rfind("file://", 0) == 0) {
    source = arg.substr(7);
    ASSIGN_OR_RETURN(text, ReadFileToString(ctx.env().fs(), AT_FDCWD, source));
  }
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    return Status::InvalidArgument("An error occurred (MalformedPolicyDocument) when calling the PutUserPolicy "
                                   "operation: " + source + " is not JSON");
  }
  Status valid = iam::ValidatePolicy(doc);
  if (!valid.ok()) {
    return Status::InvalidArgument("An error occurred (MalformedPolicyDocument) when calling the PutUserPolicy "
                                   "operation: " + source + ": " + valid.message());
  }
  return doc;
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
  cmds.push_back(Make({"attach-user-policy", "attach a managed policy (AdministratorAccess, AmazonS3FullAccess, "
                                             "AmazonS3ReadOnlyAccess) to a user",
                       {{"user-name", "the user's name"}, {"policy-arn", "arn:aws:iam::aws:policy/NAME"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string &name = a.at("user-name"), &arn = a.at("policy-arn");
                         return Update(ctx, dir, [&](IamData& d) {
                           User* u = FindUser(d, name);
                           if (u == nullptr) return NoSuchUser("AttachUserPolicy", name);
                           if (iam::ManagedPolicy(arn) == nullptr) {
                             return IamError("NoSuchEntity", "AttachUserPolicy",
                                             "Policy " + arn + " does not exist or is not attachable (bucketd has "
                                             "AdministratorAccess, AmazonS3FullAccess, AmazonS3ReadOnlyAccess).");
                           }
                           if (std::find(u->attached.begin(), u->attached.end(), arn) == u->attached.end()) {
                             u->attached.push_back(arn);
                           }
                           return Status::OK();
                         });
                       }}));
  cmds.push_back(Make({"detach-user-policy", "detach a managed policy from a user",
                       {{"user-name", "the user's name"}, {"policy-arn", "the policy's ARN"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string &name = a.at("user-name"), &arn = a.at("policy-arn");
                         return Update(ctx, dir, [&](IamData& d) {
                           User* u = FindUser(d, name);
                           if (u == nullptr) return NoSuchUser("DetachUserPolicy", name);
                           auto it = std::find(u->attached.begin(), u->attached.end(), arn);
                           if (it == u->attached.end()) {
                             return IamError("NoSuchEntity", "DetachUserPolicy", "Policy " + arn + " was not found.");
                           }
                           u->attached.erase(it);
                           return Status::OK();
                         });
                       }}));
  cmds.push_back(Make({"put-user-policy", "add or replace a user's inline policy",
                       {{"user-name", "the user's name"},
                        {"policy-name", "the policy's name"},
                        {"policy-document", "file://F.json, or the JSON itself"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         auto doc = PolicyDocument(ctx, a.at("policy-document"));
                         if (!doc.ok()) return Context::Fail(doc.status());
                         const std::string& name = a.at("user-name");
                         return Update(ctx, dir, [&](IamData& d) {
                           User* u = FindUser(d, name);
                           if (u == nullptr) return NoSuchUser("PutUserPolicy", name);
                           u->inline_policies[a.at("policy-name")] = *doc;
                           return Status::OK();
                         });
                       }}));
  cmds.push_back(Make({"delete-user-policy", "delete a user's inline policy",
                       {{"user-name", "the user's name"}, {"policy-name", "the policy's name"}},
                       [](Context& ctx, const std::string& dir, const auto& a) {
                         const std::string& name = a.at("user-name");
                         return Update(ctx, dir, [&](IamData& d) {
                           User* u = FindUser(d, name);
                           if (u == nullptr) return NoSuchUser("DeleteUserPolicy", name);
                           if (u->inline_policies.erase(a.at("policy-name")) == 0) {
                             return IamError("NoSuchEntity", "DeleteUserPolicy",
                                             "The user policy with name " + a.at("policy-name") + " cannot be found.");
                           }
                           return Status::OK();
                         });
                       }}));
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
  return cmds;
}

}  // namespace bucketd::cli
