// Rule files in AWS's shapes, S3 notification configurations, target input.
#include <gtest/gtest.h>

#include "events/records.h"
#include "rules/pattern.h"
#include "rules/rule.h"
#include "rules/rule_set.h"
#include "tests/test_util.h"

namespace bucketd::rules {
namespace {

// The seed's EventBridge rule and target, as `aws events put-rule` and
// `put-targets` take them.
constexpr char kSeedRule[] = R"J({
  "Name": "RunNotebook-preparation",
  "EventPattern": "{\"source\":[\"aws.s3\"],\"detail-type\":[\"Object Created\"],\"detail\":{\"bucket\":{\"name\":[\"creditsafedata\"]},\"object\":{\"key\":[{\"prefix\":\"LOGS_FTP_EXECUTION/\"}]}}}",
  "State": "ENABLED",
  "Description": "runs the ETL when a delivery is extracted",
  "Targets": [{
    "Id": "RunNotebook",
    "Arn": "arn:aws:lambda:eu-west-2:123456789012:function:RunNotebook",
    "Input": "{\"input_path\": \"NOTEBOOKS_WORKFLOW/00_ETL_invoice_finance.ipynb\"}",
    "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
    "DeadLetterConfig": {"Arn": "arn:aws:sqs:eu-west-2:123456789012:dlq"}
  }]
})J";

nlohmann::json S3Event(const std::string& bucket, const std::string& key) {
  return {{"version", "0"}, {"id", "x"}, {"detail-type", "Object Created"}, {"source", "aws.s3"},
          {"account", "123456789012"}, {"time", "2026-01-01T00:00:00Z"}, {"region", "eu-west-2"},
          {"resources", {"arn:aws:s3:::" + bucket}},
          {"detail", {{"bucket", {{"name", bucket}}}, {"object", {{"key", key}, {"size", 5}}}, {"reason", "PutObject"}}}};
}

TEST(RuleFileTest, SeedRuleParsesVerbatimWithPatternAsString) {
  auto rules = ParseRuleFile(kSeedRule, "rules.d/seed.json");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 1u);
  const Rule& r = (*rules)[0];
  EXPECT_EQ(r.name, "RunNotebook-preparation");
  EXPECT_TRUE(r.enabled);
  ASSERT_EQ(r.targets.size(), 1u);
  EXPECT_EQ(r.targets[0].function, "RunNotebook");
  EXPECT_EQ(r.targets[0].maximum_retry_attempts, 2);
  EXPECT_EQ(r.targets[0].maximum_event_age_seconds, 3600);
  EXPECT_EQ(r.targets[0].dead_letter_arn, "arn:aws:sqs:eu-west-2:123456789012:dlq");
  RuleSet set(*rules);
  EXPECT_EQ(set.Match(FlatEvent::FromJson(S3Event("creditsafedata", "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json"))).size(), 1u);
  EXPECT_TRUE(set.Match(FlatEvent::FromJson(S3Event("creditsafedata", "DATA/x"))).empty());
}

TEST(RuleFileTest, ListsSchedulesAndDisabledRules) {
  auto rules = ParseRuleFile(R"J([
    {"Name": "monthly-fetch", "ScheduleExpression": "cron(0 6 2 * ? *)",
     "Targets": [{"Id": "f", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:fetch"}]},
    {"Name": "off", "State": "DISABLED", "EventPattern": {"source": ["aws.s3"]}}
  ])J", "f.json");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_TRUE((*rules)[0].schedule.has_value());
  EXPECT_FALSE((*rules)[1].enabled);
  RuleSet set(*rules);
  EXPECT_TRUE(set.Match(FlatEvent::FromJson(S3Event("b", "k"))).empty());  // disabled
}

TEST(RuleFileTest, ErrorsNameFilePointerAndExpectation) {
  struct Bad {
    const char* text;
    const char* says;
  } bad[] = {
      {R"J({"Name": "a"})J", "/: a rule needs an EventPattern or a ScheduleExpression"},
      {R"J({"Name": "bad name!", "EventPattern": {"a": [1]}})J", "/Name: expected 1 to 64"},
      {R"J({"Name": "a", "EventPattern": {"a": [{"prefx": "x"}]}})J", "/EventPattern/a/0: unknown operator"},
      {R"J({"Name": "a", "EventPattern": "{\"a\": [1,]}"})J", "invalid JSON"},
      {R"J({"Name": "a", "ScheduleExpression": "rate(1 minutes)"})J", "/ScheduleExpression: invalid schedule"},
      {R"J({"Name": "a", "State": "ON", "ScheduleExpression": "rate(1 day)"})J", "/State: expected ENABLED or DISABLED"},
      {R"J({"Name": "a", "Nme": 1, "ScheduleExpression": "rate(1 day)"})J", "/Nme: unknown field"},
      {R"J({"Name": "a", "ScheduleExpression": "rate(1 day)", "Targets": [{"Id": "t"}]})J", "/Targets/0/Arn: required field"},
      {R"J({"Name": "a", "ScheduleExpression": "rate(1 day)", "Targets": [{"Id": "t", "Arn": "arn:x", "Input": "{bad"}]})J", "/Targets/0/Input: expected valid JSON"},
      {R"J({"Name": "a", "ScheduleExpression": "rate(1 day)", "Targets": [{"Id": "t", "Arn": "arn:x", "Input": "1", "InputPath": "$"}]})J", "only one of Input"},
      {R"J({"Name": "a", "ScheduleExpression": "rate(1 day)", "Targets": [{"Id": "t", "Arn": "arn:x", "InputPath": "detail"}]})J", "/Targets/0/InputPath: invalid JSONPath"},
      {R"J({"Name": "a", "ScheduleExpression": "rate(1 day)", "Targets": [{"Id": "t", "Arn": "arn:x", "RetryPolicy": {"MaximumRetryAttempts": 500}}]})J", "/Targets/0/RetryPolicy/MaximumRetryAttempts: expected a whole number from 0 to 185"},
      {"{\n  \"Name\": \"a\",\n  oops\n}", "f.json: line 3, column 3"},
  };
  for (const auto& b : bad) {
    auto r = ParseRuleFile(b.text, "f.json");
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_EQ(r.status().message().rfind("f.json: ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(b.says), std::string::npos) << r.status().message();
  }
}

TEST(RuleFileTest, S3NotificationConfigurationBecomesEquivalentRules) {
  auto rules = ParseRuleFile(R"J({
    "Bucket": "creditsafedata",
    "LambdaFunctionConfigurations": [{
      "Id": "extract", "LambdaFunctionArn": "arn:aws:lambda:eu-west-2:123456789012:function:extract",
      "Events": ["s3:ObjectCreated:*"],
      "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "DATA/RAW_DATA/"}, {"Name": "suffix", "Value": ".rar"}]}}
    }],
    "QueueConfigurations": [{
      "QueueArn": "arn:aws:sqs:eu-west-2:123456789012:deletes", "Events": ["s3:ObjectRemoved:*"]
    }]})J", "n.json");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].targets[0].function, "extract");
  RuleSet set(*rules);
  auto created = S3Event("creditsafedata", "DATA/RAW_DATA/UKLTD_M_20240101/CI01_M_20240101.rar");
  EXPECT_EQ(set.Match(FlatEvent::FromJson(created)), std::vector<size_t>{0});
  EXPECT_TRUE(set.Match(FlatEvent::FromJson(S3Event("creditsafedata", "DATA/RAW_DATA/x.zip"))).empty());
  EXPECT_TRUE(set.Match(FlatEvent::FromJson(S3Event("other", "DATA/RAW_DATA/x.rar"))).empty());
  auto deleted = S3Event("creditsafedata", "anything");
  deleted["detail-type"] = "Object Deleted";
  EXPECT_EQ(set.Match(FlatEvent::FromJson(deleted)), std::vector<size_t>{1});
  auto bad = ParseRuleFile(R"J({"Bucket":"b","LambdaFunctionConfigurations":[{"LambdaFunctionArn":"arn:aws:lambda:r:a:function:f","Events":["s3:Replication:*"]}]})J", "n.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/LambdaFunctionConfigurations/0/Events/0"), std::string::npos);
}

TEST(TargetInputTest, InputInputPathAndWholeEvent) {
  auto event = S3Event("b", "k");
  Target t;
  t.id = "t";
  EXPECT_EQ(nlohmann::json::parse(*TargetInput(t, event, "r", "arn", 0)), event);
  t.input = R"J({"input_path": "x.ipynb"})J";
  EXPECT_EQ(*TargetInput(t, event, "r", "arn", 0), R"J({"input_path": "x.ipynb"})J");
  t.input.reset();
  t.input_path = "$.detail.object";
  EXPECT_EQ(nlohmann::json::parse(*TargetInput(t, event, "r", "arn", 0)), event["detail"]["object"]);
  t.input_path = "$.detail.nothing";
  EXPECT_FALSE(TargetInput(t, event, "r", "arn", 0).ok());
}

TEST(TargetInputTest, TransformerFollowsAwsQuotingRules) {
  auto event = S3Event("b", "dir/\"quoted\".csv");
  Target t;
  t.id = "t";
  InputTransformer tr;
  tr.paths = {{"key", "$.detail.object.key"}, {"size", "$.detail.object.size"}, {"res", "$.resources[0]"}};
  // JSON template: a string value is inserted quoted and escaped, a number as a number;
  // inside a string literal the text is inserted without quotes.
  tr.input_template = R"J({"key": <key>, "size": <size>, "msg": "got <key> of <size> bytes", "rule": <aws.events.rule-name>})J";
  t.transformer = tr;
  auto in = TargetInput(t, event, "RunNotebook-preparation", "arn", 0);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  auto j = nlohmann::json::parse(*in);
  EXPECT_EQ(j["key"], "dir/\"quoted\".csv");
  EXPECT_EQ(j["size"], 5);
  EXPECT_EQ(j["msg"], "got dir/\"quoted\".csv of 5 bytes");
  EXPECT_EQ(j["rule"], "RunNotebook-preparation");
  // Plain-text template: values as text.
  tr.input_template = "<res> changed: <key>";
  t.transformer = tr;
  EXPECT_EQ(*TargetInput(t, event, "r", "arn", 0), "arn:aws:s3:::b changed: dir/\"quoted\".csv");
  tr.input_template = R"J({"event": <aws.events.event.json>})J";
  t.transformer = tr;
  EXPECT_EQ(nlohmann::json::parse(*TargetInput(t, event, "r", "arn", 0))["event"], event);
}

TEST(TargetInputTest, AJsonTemplateThatGivesNoJsonIsAnErrorNamingTheTarget) {
  auto event = S3Event("b", "k");
  Target t;
  t.id = "etl";
  InputTransformer tr;
  tr.paths = {{"key", "$.detail.object.key"}};
  tr.input_template = R"J({"key": <key>, "month": <month>})J";  // <month> is no placeholder
  t.transformer = tr;
  auto in = TargetInput(t, event, "r", "arn", 0);
  ASSERT_FALSE(in.ok());
  EXPECT_NE(in.status().message().find("target 'etl': InputTemplate does not give valid JSON for this event"),
            std::string::npos) << in.status().message();
  EXPECT_NE(in.status().message().find(R"J({"key": "k", "month": <month>})J"), std::string::npos);
}

TEST(RulesDirTest, ScheduleTimezoneIsLoadedAndAnUnknownOneNamesTheFile) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "tz.json", R"J({"Name": "london-morning", "ScheduleExpression": "cron(0 8 * * ? *)",
                                          "ScheduleExpressionTimezone": "Europe/London"})J");
  auto rules = LoadRulesDir(Env::Default(), tmp.path());
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_TRUE((*rules)[0].schedule->zone != nullptr);
  EXPECT_EQ((*rules)[0].schedule->zone->name(), "Europe/London");
  testing::WriteFile(tmp / "tz.json", R"J({"Name": "x", "ScheduleExpression": "cron(0 8 * * ? *)",
                                          "ScheduleExpressionTimezone": "Nowhere/Land"})J");
  auto bad = LoadRulesDir(Env::Default(), tmp.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tz.json: rule 'x': /ScheduleExpressionTimezone: unknown time zone"),
            std::string::npos) << bad.status().message();
}

TEST(RulesDirTest, LoadsEveryFileAndRefusesDuplicateNames) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "a.json", kSeedRule);
  testing::WriteFile(tmp / "b.json", R"J({"Name": "fetch", "ScheduleExpression": "rate(1 day)"})J");
  testing::WriteFile(tmp / "notes.txt", "ignored");
  auto rules = LoadRulesDir(Env::Default(), tmp.path());
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  EXPECT_EQ(rules->size(), 2u);
  testing::WriteFile(tmp / "c.json", R"J({"Name": "fetch", "ScheduleExpression": "rate(2 days)"})J");
  auto dup = LoadRulesDir(Env::Default(), tmp.path());
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("c.json: rule name 'fetch' is already used in"), std::string::npos)
      << dup.status().message();
  EXPECT_TRUE(LoadRulesDir(Env::Default(), tmp / "missing")->empty());
}


// Issue 13, item 7: a wrong JSON type aborted `rules validate` and bucketd
// (an uncaught nlohmann::type_error); each is now an error naming the file,
// the pointer and what was expected.
TEST(HostileConfigTest, NotificationFiltersOfTheWrongTypesAreErrorsWithTheirPointer) {
  struct Case {
    const char* filter;
    const char* error;
  } cases[] = {
      {R"({"Key":{"FilterRules":[{"Name":5,"Value":5}]}})", "/Filter/Key/FilterRules/0/Name: expected a string"},
      {R"({"Key":{"FilterRules":[{"Name":"prefix","Value":5}]}})", "/Filter/Key/FilterRules/0/Value: expected a string"},
      {R"({"Key":{"FilterRules":[{"Name":"prefix"}]}})", "/Filter/Key/FilterRules/0/Value: required field is missing"},
      {R"({"Key":{"FilterRules":["prefix"]}})", "/Filter/Key/FilterRules/0: expected {"},
      {R"({"Key":{"FilterRules":{"Name":"prefix"}}})", "/Filter/Key/FilterRules: expected an array"},
      {R"({"Key":"prefix"})", "/Filter/Key: expected {"},
      {R"(["prefix"])", "/Filter: expected {"},
      {R"({"Key":{"FilterRules":[{"Name":"prefix","Value":"a","Extra":1}]}})", "Extra"},
  };
  for (const auto& c : cases) {
    std::string text = std::string(R"({"Bucket":"data","LambdaFunctionConfigurations":[{"Id":"x",)"
                                   R"("LambdaFunctionArn":"arn:aws:lambda:local:000000000000:function:F",)"
                                   R"("Events":["s3:ObjectCreated:*"],"Filter":)") + c.filter + "}]}";
    auto r = ParseRuleFile(text, "n.json");
    ASSERT_FALSE(r.ok()) << c.filter;
    EXPECT_NE(r.status().message().find(std::string("n.json: /LambdaFunctionConfigurations/0") +
                                        (c.error[0] == '/' ? c.error : "")),
              std::string::npos) << c.filter << " -> " << r.status().message();
    EXPECT_NE(r.status().message().find(c.error), std::string::npos) << c.filter << " -> " << r.status().message();
  }
}

// A pattern nested 100,000 deep segfaulted both bucketctl and bucketd.
TEST(HostileConfigTest, NestingBeyondTheLimitIsAnErrorWithItsPositionNotACrash) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
  deep += "[1]";
  deep += std::string(100000, '}');
  auto r = ParseRuleFile(R"({"Name":"deep","EventPattern":{"source":["aws.s3"],"detail":)" + deep + "}}", "d.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("d.json: line 1, column "), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("nested deeper than 100 levels"), std::string::npos) << r.status().message();
  auto as_string = ParseRuleFile(R"({"Name":"deep","EventPattern":")" + deep + "\"}", "s.json");
  ASSERT_FALSE(as_string.ok()) << "brackets inside a string are not nesting, but that string is no pattern";
  auto event = FlatEvent::Parse(deep, "event");
  ASSERT_FALSE(event.ok());
  EXPECT_NE(event.status().message().find("nested deeper than 100 levels"), std::string::npos);
  // Within the limit, nesting is fine; brackets inside strings do not count.
  std::string ok;
  for (int i = 0; i < 90; ++i) ok += "{\"a\":";
  ok += "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"\"]";
  ok += std::string(90, '}');
  EXPECT_TRUE(FlatEvent::Parse(ok, "event").ok()) << FlatEvent::Parse(ok, "event").status().ToString();
}

TEST(HostileConfigTest, APatternOverAwsSizeQuotaLoadsWithAWarningThatAwsWouldRefuseIt) {
  nlohmann::json prefixes = nlohmann::json::array();
  for (int i = 0; i < 200; ++i) prefixes.push_back({{"prefix", "tenant-" + std::to_string(i) + "/"}});
  nlohmann::json rule = {{"Name", "big"},
                         {"EventPattern", {{"source", {"aws.s3"}}, {"detail", {{"object", {{"key", prefixes}}}}}}}};
  auto r = ParseRuleFile(rule.dump(), "big.json");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)[0].warnings.size(), 1u);
  EXPECT_NE((*r)[0].warnings[0].find("big.json: /EventPattern: the pattern is "), std::string::npos);
  EXPECT_NE((*r)[0].warnings[0].find("AWS refuses patterns over 2048"), std::string::npos) << (*r)[0].warnings[0];
  auto small = ParseRuleFile(kSeedRule, "seed.json");
  ASSERT_TRUE(small.ok());
  EXPECT_TRUE((*small)[0].warnings.empty());
}

TEST(HostileConfigTest, AConfigFileOverOneMiBIsRefusedWithItsSizeBeforeItIsRead) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "huge.json", std::string(2'000'000, ' '));
  auto r = LoadRulesDir(Env::Default(), tmp.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("huge.json: the file is 2000000 bytes; configuration files may be at most "
                                      "1048576 bytes"),
            std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace bucketd::rules
