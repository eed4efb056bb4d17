// PutBucketNotificationConfiguration and GetBucketNotificationConfiguration:
// how `aws s3api put-bucket-notification-configuration` wires a function to a
// bucket. The configuration becomes the S3 notification shape rule files
// accept ({"Bucket", "LambdaFunctionConfigurations", …}), stored in
// <state-dir>/notifications/<bucket>.json (the config directory is root's and
// read-only to bucketd) and loaded with rules.d; a bucket whose notifications
// a config file defines is read-only through the API.
#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "api/s3_call.h"
#include "common/file_util.h"
#include "common/json_text.h"
#include "rules/rule.h"

namespace bucketd::api {
namespace {

using nlohmann::json;

struct Kind {
  const char* xml;       // <CloudFunctionConfiguration>
  const char* xml_arn;   // <CloudFunction>
  const char* list;      // LambdaFunctionConfigurations
  const char* json_arn;  // LambdaFunctionArn
};
constexpr Kind kKinds[] = {
    {"CloudFunctionConfiguration", "CloudFunction", "LambdaFunctionConfigurations", "LambdaFunctionArn"},
    {"QueueConfiguration", "Queue", "QueueConfigurations", "QueueArn"},
    {"TopicConfiguration", "Topic", "TopicConfigurations", "TopicArn"},
};

std::string FileName(const std::string& bucket) { return bucket + ".json"; }

// The config file (rules.d) that already defines notifications for `bucket`, if one does.
std::string DefinedInConfig(Call& c) {
  if (c.api.options.config_rules_dir.empty()) return "";
  auto rules = rules::LoadRulesDir(c.api.env, c.api.options.config_rules_dir);
  if (!rules.ok()) return "";
  for (const auto& r : *rules) {
    if (r.name.rfind("s3-" + c.bucket + "-", 0) == 0) return r.source;
  }
  return "";
}

Result<json> FromXml(const pugi::xml_node& root, const std::string& bucket) {
  json j = {{"Bucket", bucket}};
  for (const Kind& k : kKinds) {
    for (pugi::xml_node n : root.children(k.xml)) {
      json cfg = json::object();
      if (n.child("Id")) cfg["Id"] = n.child_value("Id");
      if (!n.child(k.xml_arn)) {
        return Status::InvalidArgument(std::string("<") + k.xml + "> without its <" + k.xml_arn + "> ARN");
      }
      cfg[k.json_arn] = n.child_value(k.xml_arn);
      cfg["Events"] = json::array();
      for (pugi::xml_node e : n.children("Event")) cfg["Events"].push_back(e.child_value());
      if (pugi::xml_node key = n.child("Filter").child("S3Key")) {
        json rules = json::array();
        for (pugi::xml_node r : key.children("FilterRule")) {
          rules.push_back({{"Name", r.child_value("Name")}, {"Value", r.child_value("Value")}});
        }
        cfg["Filter"] = {{"Key", {{"FilterRules", rules}}}};
      }
      j[k.list].push_back(cfg);
    }
  }
  if (root.child("EventBridgeConfiguration")) j["EventBridgeConfiguration"] = json::object();
  // The rule loader knows the shape by its lists: an empty one says "none".
  if (!j.contains(kKinds[0].list) && !j.contains(kKinds[1].list) && !j.contains(kKinds[2].list)) {
    j[kKinds[0].list] = json::array();
  }
  return j;
}

void ToXml(const json& j, pugi::xml_node root) {
  for (const Kind& k : kKinds) {
    if (!j.contains(k.list)) continue;
    for (const json& cfg : j[k.list]) {
      pugi::xml_node n = root.append_child(k.xml);
      if (cfg.contains("Id")) AddText(n, "Id", cfg["Id"].get<std::string>());
      AddText(n, k.xml_arn, cfg.value(k.json_arn, ""));
      for (const json& e : cfg.value("Events", json::array())) AddText(n, "Event", e.get<std::string>());
      if (cfg.contains("Filter")) {
        pugi::xml_node key = n.append_child("Filter").append_child("S3Key");
        json rules = cfg["Filter"].value("Key", json::object()).value("FilterRules", json::array());
        for (const json& r : rules) {
          pugi::xml_node rule = key.append_child("FilterRule");
          AddText(rule, "Name", r.value("Name", ""));
          AddText(rule, "Value", r.value("Value", ""));
        }
      }
    }
  }
  if (j.contains("EventBridgeConfiguration")) root.append_child("EventBridgeConfiguration");
}

}  // namespace

void PutBucketNotificationConfiguration(Call& c) {
  c.operation = "PutBucketNotificationConfiguration";
  if (!c.Allowed("s3:PutBucketNotification", c.BucketArn()) || !c.Writable()) return;
  if (Status b = c.api.store.HeadBucket(c.bucket); !b.ok()) return c.FailStore(b);
  const std::string& dir = c.api.options.notifications_dir;
  if (dir.empty()) {
    return c.Fail(S3Error::Make(501, "NotImplemented", "this bucketd keeps no notification configurations"));
  }
  if (std::string source = DefinedInConfig(c); !source.empty()) {
    return c.Fail(S3Error::Make(403, "AccessDenied", "the notifications of bucket '" + c.bucket + "' are defined in " +
                                                         source + ", which is read-only through the API"));
  }
  pugi::xml_document doc;
  pugi::xml_node root;
  if (!ReadXmlBody(c, 1 << 20, "NotificationConfiguration", &doc, &root)) return;
  auto config = FromXml(root, c.bucket);
  if (!config.ok()) return c.Fail(S3Error::Make(400, "MalformedXML", config.status().message()));
  // Validated as the daemon will load it; its errors name the field.
  std::string text = config->dump(2) + "\n";
  if (auto rules = rules::ParseRuleFile(text, "NotificationConfiguration"); !rules.ok()) {
    return c.Fail(S3Error::Make(400, "InvalidArgument", rules.status().message()));
  }
  Fs& fs = c.api.env.fs();
  Status s = MakeDirs(fs, dir, 0750);
  bool none = root.first_child().empty();
  if (s.ok() && none) {
    s = fs.UnlinkAt(AT_FDCWD, dir + "/" + FileName(c.bucket), false);
    if (s.IsNotFound()) s = Status::OK();
  } else if (s.ok()) {
    s = WriteFileAtomically(fs, dir, FileName(c.bucket), text, 0640);
  }
  if (!s.ok()) return c.FailStore(s);
  if (c.api.options.rules_changed) c.api.options.rules_changed();
  c.Empty(200);
}

void GetBucketNotificationConfiguration(Call& c) {
  c.operation = "GetBucketNotificationConfiguration";
  if (!c.Allowed("s3:GetBucketNotification", c.BucketArn())) return;
  if (Status b = c.api.store.HeadBucket(c.bucket); !b.ok()) return c.FailStore(b);
  XmlOut x("NotificationConfiguration");
  if (!c.api.options.notifications_dir.empty()) {
    std::string path = c.api.options.notifications_dir + "/" + FileName(c.bucket);
    auto text = ReadFileToString(c.api.env.fs(), AT_FDCWD, path);
    if (!text.ok() && !text.status().IsNotFound()) return c.FailStore(text.status());
    if (text.ok()) {
      // A file edited by hand since it was put is rendered only when the
      // loader would take it.
      Status valid = rules::ParseRuleFile(*text, path).status();
      auto j = valid.ok() ? ParseJsonText(*text, path) : Result<json>(valid);
      if (!j.ok()) return c.FailStore(j.status());
      ToXml(*j, x.root());
    }
  }
  c.Xml(200, x.str());
}

}  // namespace bucketd::api
