// Rule files: parsing and validating the put-rule / put-targets shapes and
// S3 notification configurations.
#include <fcntl.h>

#include <algorithm>
#include <set>

#include "common/file_util.h"
#include "rules/json_fields.h"
#include "rules/rule.h"

namespace bucketd::rules {

namespace {

// EventBridge's "Event pattern size" quota: characters of the pattern.
constexpr size_t kAwsPatternChars = 2048;


class RuleParser : public JsonFields {
 public:
  explicit RuleParser(std::string source) : JsonFields(std::move(source)) {}

  Result<Target> ParseTarget(const nlohmann::json& t, const std::string& ptr) const {
    if (!t.is_object()) return Error(ptr, "expected a target object");
    RETURN_IF_ERROR(OnlyKeys(t, ptr, {"Id", "Arn", "RoleArn", "Input", "InputPath",
                                      "InputTransformer", "RetryPolicy", "DeadLetterConfig"}));
    Target out;
    ASSIGN_OR_RETURN(out.id, String(t, "Id", ptr, true));
    ASSIGN_OR_RETURN(out.arn, String(t, "Arn", ptr, true));
    if (out.id.empty() || out.id.size() > 64) return Error(ptr + "/Id", "expected 1 to 64 characters");
    if (out.arn.rfind("arn:", 0) != 0) return Error(ptr + "/Arn", "expected an ARN (arn:…)");
    out.function = LambdaFunctionName(out.arn);
    out.arn_pointer = ptr + "/Arn";
    int kinds = t.contains("Input") + t.contains("InputPath") + t.contains("InputTransformer");
    if (kinds > 1) return Error(ptr, "only one of Input, InputPath and InputTransformer may be set");
    if (t.contains("Input")) {
      ASSIGN_OR_RETURN(std::string input, String(t, "Input", ptr, true));
      if (nlohmann::json::parse(input, nullptr, false).is_discarded()) {
        return Error(ptr + "/Input", "expected valid JSON text in a string");
      }
      out.input = input;
    }
    if (t.contains("InputPath")) {
      ASSIGN_OR_RETURN(std::string path, String(t, "InputPath", ptr, true));
      auto probe = JsonPath(nlohmann::json::object(), path);
      if (!probe.ok()) return Error(ptr + "/InputPath", probe.status().message());
      out.input_path = path;
    }
    if (t.contains("InputTransformer")) {
      const auto& it = t["InputTransformer"];
      std::string p = ptr + "/InputTransformer";
      if (!it.is_object()) return Error(p, "expected an object");
      RETURN_IF_ERROR(OnlyKeys(it, p, {"InputPathsMap", "InputTemplate"}));
      InputTransformer tr;
      ASSIGN_OR_RETURN(tr.input_template, String(it, "InputTemplate", p, true));
      if (it.contains("InputPathsMap")) {
        if (!it["InputPathsMap"].is_object()) return Error(p + "/InputPathsMap", "expected an object");
        for (const auto& [name, path] : it["InputPathsMap"].items()) {
          std::string pp = p + "/InputPathsMap/" + name;
          if (!path.is_string()) return Error(pp, "expected a JSONPath string");
          if (name.rfind("aws.events.", 0) == 0) return Error(pp, "names starting with aws.events. are reserved");
          auto probe = JsonPath(nlohmann::json::object(), path.get<std::string>());
          if (!probe.ok()) return Error(pp, probe.status().message());
          tr.paths[name] = path.get<std::string>();
        }
      }
      out.transformer = tr;
    }
    if (t.contains("RetryPolicy")) {
      const auto& rp = t["RetryPolicy"];
      std::string p = ptr + "/RetryPolicy";
      if (!rp.is_object()) return Error(p, "expected an object");
      RETURN_IF_ERROR(OnlyKeys(rp, p, {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}));
      ASSIGN_OR_RETURN(out.maximum_retry_attempts, Int(rp, "MaximumRetryAttempts", p, 0, 185, 185));
      ASSIGN_OR_RETURN(out.maximum_event_age_seconds, Int(rp, "MaximumEventAgeInSeconds", p, 60, 86400, 86400));
    }
    if (t.contains("DeadLetterConfig")) {
      const auto& dl = t["DeadLetterConfig"];
      if (!dl.is_object()) return Error(ptr + "/DeadLetterConfig", "expected an object");
      ASSIGN_OR_RETURN(out.dead_letter_arn, String(dl, "Arn", ptr + "/DeadLetterConfig", true));
    }
    return out;
  }

  Result<Rule> ParseRule(const nlohmann::json& r, const std::string& ptr) const {
    if (!r.is_object()) return Error(ptr, "expected a rule object");
    RETURN_IF_ERROR(OnlyKeys(r, ptr, {"Name", "Description", "EventPattern", "ScheduleExpression",
                                      "ScheduleExpressionTimezone", "State", "Targets",
                                      "EventBusName", "RoleArn", "Tags"}));
    Rule rule;
    rule.source = source();
    ASSIGN_OR_RETURN(rule.name, String(r, "Name", ptr, true));
    bool name_ok = !rule.name.empty() && rule.name.size() <= 64 &&
                   rule.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                       std::string::npos;
    if (!name_ok) return Error(ptr + "/Name", "expected 1 to 64 of letters, digits, '.', '_', '-'");
    ASSIGN_OR_RETURN(rule.description, String(r, "Description", ptr, false));
    ASSIGN_OR_RETURN(std::string state, String(r, "State", ptr, false));
    if (!state.empty() && state != "ENABLED" && state != "DISABLED") {
      return Error(ptr + "/State", "expected ENABLED or DISABLED");
    }
    rule.enabled = state != "DISABLED";
    if (r.contains("EventPattern")) {
      const auto& ep = r["EventPattern"];
      std::string p = ptr + "/EventPattern";
      if (ep.is_string()) {  // put-rule takes it as a JSON string
        auto parsed = ParseJson(ep.get<std::string>(), source() + ": " + p + ": the pattern string");
        if (!parsed.ok()) return parsed.status();
        rule.pattern_json = std::move(parsed).value();
      } else {
        rule.pattern_json = ep;
      }
      ASSIGN_OR_RETURN(rule.pattern, CompilePattern(rule.pattern_json, source(), p));
      size_t chars = rule.pattern_json.dump().size();
      if (chars > kAwsPatternChars) {
        rule.warnings.push_back(source() + ": " + p + ": the pattern is " + std::to_string(chars) +
                                " characters; AWS refuses patterns over " + std::to_string(kAwsPatternChars) +
                                " (the default quota, adjustable to 4,096); bucketd accepts it");
      }
    }
    if (r.contains("ScheduleExpression")) {
      ASSIGN_OR_RETURN(std::string expr, String(r, "ScheduleExpression", ptr, true));
      auto s = ParseSchedule(expr);
      if (!s.ok()) return Error(ptr + "/ScheduleExpression", s.status().message());
      rule.schedule = *s;
    }
    ASSIGN_OR_RETURN(rule.schedule_timezone, String(r, "ScheduleExpressionTimezone", ptr, false));
    if (!rule.schedule_timezone.empty() && !rule.schedule) {
      return Error(ptr + "/ScheduleExpressionTimezone", "only a rule with a ScheduleExpression takes a time zone");
    }
    if (!rule.pattern && !rule.schedule) {
      return Error(ptr, "a rule needs an EventPattern or a ScheduleExpression");
    }
    if (r.contains("Targets")) {
      const auto& ts = r["Targets"];
      if (!ts.is_array()) return Error(ptr + "/Targets", "expected an array of targets");
      if (ts.size() > 5) return Error(ptr + "/Targets", "at most 5 targets per rule (AWS's limit)");
      std::set<std::string> ids;
      for (size_t i = 0; i < ts.size(); ++i) {
        ASSIGN_OR_RETURN(Target t, ParseTarget(ts[i], ptr + "/Targets/" + std::to_string(i)));
        if (!ids.insert(t.id).second) return Error(ptr + "/Targets/" + std::to_string(i) + "/Id", "duplicate target Id '" + t.id + "'");
        rule.targets.push_back(std::move(t));
      }
    }
    return rule;
  }

  // {"Bucket": b, "LambdaFunctionConfigurations": [...], "QueueConfigurations": [...]}
  Result<std::vector<Rule>> ParseS3Notification(const nlohmann::json& j) const {
    RETURN_IF_ERROR(OnlyKeys(j, "", {"Bucket", "LambdaFunctionConfigurations", "QueueConfigurations",
                                     "TopicConfigurations", "EventBridgeConfiguration"}));
    ASSIGN_OR_RETURN(std::string bucket, String(j, "Bucket", "", true));
    std::vector<Rule> out;
    for (const char* kind : {"LambdaFunctionConfigurations", "QueueConfigurations", "TopicConfigurations"}) {
      if (!j.contains(kind)) continue;
      const char* arn_key = std::string(kind) == "LambdaFunctionConfigurations" ? "LambdaFunctionArn"
                            : std::string(kind) == "QueueConfigurations"         ? "QueueArn"
                                                                                 : "TopicArn";
      const auto& list = j[kind];
      if (!list.is_array()) return Error(std::string("/") + kind, "expected an array");
      for (size_t i = 0; i < list.size(); ++i) {
        std::string p = std::string("/") + kind + "/" + std::to_string(i);
        ASSIGN_OR_RETURN(Rule r, NotificationRule(list[i], p, bucket, arn_key, i));
        out.push_back(std::move(r));
      }
    }
    return out;
  }

  Result<Rule> NotificationRule(const nlohmann::json& c, const std::string& p, const std::string& bucket,
                                const char* arn_key, size_t index) const {
    if (!c.is_object()) return Error(p, "expected an object");
    RETURN_IF_ERROR(OnlyKeys(c, p, {"Id", arn_key, "Events", "Filter"}));
    ASSIGN_OR_RETURN(std::string arn, String(c, arn_key, p, true));
    ASSIGN_OR_RETURN(std::string id, String(c, "Id", p, false));
    if (!c.contains("Events") || !c["Events"].is_array() || c["Events"].empty()) {
      return Error(p + "/Events", "expected a non-empty array such as [\"s3:ObjectCreated:*\"]");
    }
    nlohmann::json detail_types = nlohmann::json::array();
    nlohmann::json reasons = nlohmann::json::array();
    for (size_t i = 0; i < c["Events"].size(); ++i) {
      const auto& e = c["Events"][i];
      std::string ev = e.is_string() ? e.get<std::string>() : "";
      std::string ep = p + "/Events/" + std::to_string(i);
      if (ev == "s3:ObjectCreated:*") {
        detail_types.push_back("Object Created");
      } else if (ev == "s3:ObjectRemoved:*" || ev == "s3:ObjectRemoved:Delete") {
        detail_types.push_back("Object Deleted");
      } else if (ev == "s3:ObjectCreated:Put" || ev == "s3:ObjectCreated:Copy" ||
                 ev == "s3:ObjectCreated:CompleteMultipartUpload" || ev == "s3:ObjectCreated:Post") {
        detail_types.push_back("Object Created");
        std::string r = ev.substr(ev.rfind(':') + 1);
        reasons.push_back(r == "Put" ? "PutObject" : r == "Copy" ? "CopyObject" : r == "Post" ? "PostObject" : r);
      } else {
        return Error(ep, "unsupported event type '" + ev + "'; expected s3:ObjectCreated:* (or :Put, :Copy, "
                         ":CompleteMultipartUpload, :Post) or s3:ObjectRemoved:* (or :Delete)");
      }
    }
    nlohmann::json object;
    std::string prefix, suffix;
    if (c.contains("Filter")) {
      const auto& filter = c["Filter"];
      std::string fp = p + "/Filter";
      if (!filter.is_object()) return Error(fp, "expected {\"Key\": {\"FilterRules\": [...]}}");
      RETURN_IF_ERROR(OnlyKeys(filter, fp, {"Key"}));
      const nlohmann::json empty_key = nlohmann::json::object();
      const auto& key = filter.contains("Key") ? filter["Key"] : empty_key;
      if (!key.is_object()) return Error(fp + "/Key", "expected {\"FilterRules\": [...]}");
      RETURN_IF_ERROR(OnlyKeys(key, fp + "/Key", {"FilterRules"}));
      const nlohmann::json no_rules = nlohmann::json::array();
      const auto& rules = key.contains("FilterRules") ? key["FilterRules"] : no_rules;
      if (!rules.is_array()) return Error(fp + "/Key/FilterRules", "expected an array of {\"Name\", \"Value\"}");
      for (size_t i = 0; i < rules.size(); ++i) {
        std::string rp = fp + "/Key/FilterRules/" + std::to_string(i);
        if (!rules[i].is_object()) return Error(rp, "expected {\"Name\": \"prefix\"|\"suffix\", \"Value\": \"…\"}");
        RETURN_IF_ERROR(OnlyKeys(rules[i], rp, {"Name", "Value"}));
        ASSIGN_OR_RETURN(std::string name, String(rules[i], "Name", rp, true));
        ASSIGN_OR_RETURN(std::string value, String(rules[i], "Value", rp, true));
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        if (name == "prefix") prefix = value;
        else if (name == "suffix") suffix = value;
        else return Error(rp + "/Name", "expected prefix or suffix");
      }
    }
    auto escape = [](const std::string& s) {
      std::string o;
      for (char ch : s) {
        if (ch == '*' || ch == '\\') o.push_back('\\');
        o.push_back(ch);
      }
      return o;
    };
    nlohmann::json pattern = {{"source", {"aws.s3"}},
                              {"detail-type", detail_types},
                              {"detail", {{"bucket", {{"name", {bucket}}}}}}};
    if (!prefix.empty() && !suffix.empty()) {
      pattern["detail"]["object"] = {{"key", {{{"wildcard", escape(prefix) + "*" + escape(suffix)}}}}};
    } else if (!prefix.empty()) {
      pattern["detail"]["object"] = {{"key", {{{"prefix", prefix}}}}};
    } else if (!suffix.empty()) {
      pattern["detail"]["object"] = {{"key", {{{"suffix", suffix}}}}};
    }
    if (!reasons.empty()) pattern["detail"]["reason"] = reasons;
    nlohmann::json rule = {{"Name", "s3-" + bucket + "-" + (id.empty() ? std::to_string(index) : id)},
                           {"EventPattern", pattern},
                           {"Targets", {{{"Id", id.empty() ? "target" : id}, {"Arn", arn}}}}};
    ASSIGN_OR_RETURN(Rule parsed, ParseRule(rule, p));
    Target& target = parsed.targets.front();
    target.s3_configuration_id = id;
    target.arn_pointer = p + "/" + arn_key;
    target.maximum_retry_attempts = kLambdaAsyncRetries;
    target.maximum_event_age_seconds = kLambdaAsyncMaxAgeSeconds;
    return parsed;
  }

  Result<std::vector<Rule>> File(std::string_view text) const {
    ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(text, source()));
    std::vector<Rule> out;
    if (j.is_object() && (j.contains("LambdaFunctionConfigurations") || j.contains("QueueConfigurations") ||
                          j.contains("TopicConfigurations"))) {
      return ParseS3Notification(j);
    }
    const nlohmann::json* list = &j;
    std::string base;
    if (j.is_object() && j.contains("Rules")) {
      list = &j["Rules"];
      base = "/Rules";
    }
    if (list->is_object()) {
      ASSIGN_OR_RETURN(Rule r, ParseRule(*list, base));
      out.push_back(std::move(r));
      return out;
    }
    if (!list->is_array()) return Error(base, "expected a rule object or an array of rules");
    for (size_t i = 0; i < list->size(); ++i) {
      ASSIGN_OR_RETURN(Rule r, ParseRule((*list)[i], base + "/" + std::to_string(i)));
      out.push_back(std::move(r));
    }
    return out;
  }
};

}  // namespace

std::string NotificationsDir(const std::string& state_dir) { return state_dir + "/notifications"; }

std::vector<std::string> ArnParts(const std::string& arn) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= arn.size(); ++i) {
    if (i == arn.size() || arn[i] == ':') {
      parts.push_back(arn.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::string LambdaFunctionName(const std::string& arn) {
  // arn:aws:lambda:<region>:<account>:function:<Name>[:qualifier]
  std::vector<std::string> parts = ArnParts(arn);
  if (parts.size() < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function") return "";
  return parts[6];
}

Result<std::vector<Rule>> ParseRuleFile(std::string_view text, const std::string& source) {
  return RuleParser(source).File(text);
}

Result<std::vector<Rule>> LoadRulesDir(Env& env, const std::string& dir) { return LoadRulesDirs(env, {dir}); }

Result<std::vector<Rule>> LoadRulesDirs(Env& env, const std::vector<std::string>& dirs) {
  Fs& fs = env.fs();
  std::vector<Rule> all;
  std::map<std::string, std::string> seen;
  for (const std::string& dir : dirs) {
    auto dfd = fs.OpenAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
    if (!dfd.ok()) {
      if (dfd.status().IsNotFound()) continue;  // no rules.d: no rules
      return dfd.status();
    }
    ASSIGN_OR_RETURN(auto names, JsonFileNames(fs, dfd->get()));
    for (const auto& n : names) {
      std::string path = dir + "/" + n;
      ASSIGN_OR_RETURN(std::string text, ReadConfigFile(fs, dfd->get(), n, path));
      ASSIGN_OR_RETURN(auto rules, ParseRuleFile(text, path));
      for (auto& r : rules) {
        if (!r.schedule_timezone.empty()) {
          auto zone = TimeZone::Load(env, r.schedule_timezone);
          if (!zone.ok()) {
            return Status::InvalidArgument(path + ": rule '" + r.name + "': /ScheduleExpressionTimezone: " +
                                           zone.status().message());
          }
          r.schedule->zone = std::make_shared<const TimeZone>(std::move(zone).value());
        }
        auto [it, fresh] = seen.emplace(r.name, path);
        if (!fresh) {
          return Status::InvalidArgument(path + ": rule name '" + r.name + "' is already used in " + it->second);
        }
        all.push_back(std::move(r));
      }
    }
  }
  return all;
}

}  // namespace bucketd::rules
