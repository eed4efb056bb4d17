// Rules in the shapes of the AWS APIs (put-rule + put-targets), loaded from
// <config-dir>/rules.d/*.json, and what a target receives.
//
// A file holds one rule (an object with "Name"), a list of rules, {"Rules":
// [...]}, or an S3 notification configuration ({"Bucket": …,
// "LambdaFunctionConfigurations": […], "QueueConfigurations": […]}), which
// becomes the equivalent EventBridge rules.
//
// Thread-safety: immutable values once loaded.
#ifndef BUCKETD_RULES_RULE_H_
#define BUCKETD_RULES_RULE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.h"
#include "rules/pattern.h"
#include "rules/schedule.h"

namespace bucketd::rules {

struct InputTransformer {
  std::map<std::string, std::string> paths;  // InputPathsMap: name -> JSONPath
  std::string input_template;                // InputTemplate
};

// Lambda's asynchronous invocation defaults (PutFunctionEventInvokeConfig).
inline constexpr int kLambdaAsyncRetries = 2;
inline constexpr int kLambdaAsyncMaxAgeSeconds = 21600;

struct Target {
  std::string id;
  std::string arn;
  std::string function;  // the local function a Lambda ARN names; empty otherwise
  std::string arn_pointer;  // where its ARN is in the rule's file ("/Targets/0/Arn"), for messages
  std::optional<std::string> input;       // Input: JSON text, verbatim
  std::optional<std::string> input_path;  // InputPath: JSONPath
  std::optional<InputTransformer> transformer;
  int maximum_retry_attempts = 185;        // RetryPolicy (AWS defaults)
  int maximum_event_age_seconds = 86400;
  std::string dead_letter_arn;             // DeadLetterConfig.Arn
  // Set for the target of a bucket notification configuration (its Id, or
  // ""): it receives S3's event message ({"Records": […]}), not the
  // EventBridge event, and S3 hands it to Lambda's asynchronous invocation
  // directly, so the retry defaults are Lambda's (2 retries, 6 hours).
  std::optional<std::string> s3_configuration_id;
};

struct Rule {
  std::string name;
  std::string description;
  bool enabled = true;
  std::optional<Pattern> pattern;
  nlohmann::json pattern_json;  // as written (for listing)
  std::optional<Schedule> schedule;
  std::string schedule_timezone;  // ScheduleExpressionTimezone (resolved by LoadRulesDir)
  std::vector<Target> targets;
  std::string source;  // file it came from
  // What AWS would refuse but bucketd accepts ("<source>: <pointer>: …"),
  // for `rules validate` and the daemon's log.
  std::vector<std::string> warnings;
  std::string Arn(const std::string& region, const std::string& account) const {
    return "arn:aws:events:" + region + ":" + account + ":rule/" + name;
  }
};

// The function name of "arn:aws:lambda:<region>:<account>:function:<Name>[:qualifier]",
// or "" for any other ARN.
std::string LambdaFunctionName(const std::string& arn);
// An ARN's ':'-separated parts ("arn", "aws", service, region, account, …).
std::vector<std::string> ArnParts(const std::string& arn);

// Parses one file's text. InvalidArgument: "<source>: <pointer or line,
// column>: <what was expected>".
Result<std::vector<Rule>> ParseRuleFile(std::string_view text, const std::string& source);

// Every *.json in `dir`, in name order; a rule name used twice is an error.
// Time zones named by ScheduleExpressionTimezone are loaded here.
Result<std::vector<Rule>> LoadRulesDir(Env& env, const std::string& dir);
// Several directories as one (a rule name is unique across all); a missing
// one has no rules. The daemon's are <config-dir>/rules.d and the bucket
// notification configurations the API stored in <state-dir>/notifications.
Result<std::vector<Rule>> LoadRulesDirs(Env& env, const std::vector<std::string>& dirs);

// Where the API endpoint keeps bucket notification configurations, one
// "<bucket>.json" each (the S3 notification shape rule files accept).
std::string NotificationsDir(const std::string& state_dir);

// The input a target receives for `event` (AWS: Input, InputPath,
// InputTransformer, else the whole event). `rule_arn` feeds
// <aws.events.rule-arn>, `now_ns` <aws.events.event.ingestion-time>.
Result<std::string> TargetInput(const Target& target, const nlohmann::json& event,
                                const std::string& rule_name, const std::string& rule_arn,
                                int64_t now_ns);

// A JSONPath ("$", "$.a.b", "$.a[0]", "$['a b']") into `doc`; nullopt when
// it leads nowhere. InvalidArgument for a malformed path.
Result<std::optional<nlohmann::json>> JsonPath(const nlohmann::json& doc, const std::string& path);

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_RULE_H_
