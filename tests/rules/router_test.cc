// Router::Route, Fire and Replay: pure functions from records (or a
// schedule's event) to matches. Table-driven; no database, no clock.
#include "rules/router.h"

#include <gtest/gtest.h>

#include "events/s3_event_message.h"
#include "rules/scheduler.h"

namespace bucketd::rules {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000'000;

// Both EventBridge shapes, a prefix rule with two targets, a suffix rule, a
// delete rule and a schedule (which Route never matches).
constexpr char kRules[] = R"J([
  {"Name": "raw", "EventPattern": {"source": ["aws.s3"], "detail-type": ["Object Created"],
     "detail": {"bucket": {"name": ["data"]}, "object": {"key": [{"prefix": "RAW/"}]}}},
   "Targets": [{"Id": "a", "Arn": "arn:aws:lambda:local:000000000000:function:Extract"},
               {"Id": "b", "Arn": "arn:aws:lambda:local:000000000000:function:Audit",
                "InputTransformer": {"InputPathsMap": {"k": "$.detail.object.key", "t": "$.time"},
                                     "InputTemplate": "{\"key\": <k>, \"at\": <t>}"}}]},
  {"Name": "csv-trail", "EventPattern": {"source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"],
     "detail": {"eventName": ["PutObject"], "requestParameters": {"key": [{"suffix": ".csv"}]}}},
   "Targets": [{"Id": "c", "Arn": "arn:aws:lambda:local:000000000000:function:Load"}]},
  {"Name": "gone", "EventPattern": {"source": ["aws.s3"], "detail-type": ["Object Deleted"]},
   "Targets": [{"Id": "d", "Arn": "arn:aws:lambda:local:000000000000:function:Tidy"}]},
  {"Name": "nightly", "ScheduleExpression": "cron(0 2 * * ? *)",
   "Targets": [{"Id": "n", "Arn": "arn:aws:lambda:local:000000000000:function:Fetch"}]}
])J";

events::TrailRecord Record(int64_t seq, events::ChangeKind kind, const std::string& bucket, const std::string& key) {
  events::TrailRecord r;
  r.seq = seq;
  r.event_id = "00000000-0000-4000-8000-" + std::string(12 - std::to_string(seq).size(), '0') + std::to_string(seq);
  r.time_ns = kNow - 1'000'000'000;
  r.change.kind = kind;
  r.change.bucket = bucket;
  r.change.key = key;
  r.change.size = 3;
  r.change.etag = "\"e\"";
  return r;
}

// "rule/target@seq" for each match, in order.
std::vector<std::string> Names(const std::vector<Match>& matches) {
  std::vector<std::string> out;
  for (const auto& m : matches) {
    out.push_back(m.rule->name + "/" + m.target->id + "@" + (m.record ? std::to_string(m.record->seq) : "-"));
  }
  return out;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rules = ParseRuleFile(kRules, "rules.json");
    ASSERT_TRUE(rules.ok()) << rules.status().ToString();
    router_.SetRules(std::make_shared<const RuleSet>(std::move(rules).value()));
  }
  Router router_{events::TrailIdentity{"123456789012", "eu-west-2"}};
};

TEST_F(RouterTest, EachRecordGoesToTheTargetsOfEveryRuleItsEventsMatchInRecordOrder) {
  using K = events::ChangeKind;
  struct Case {
    std::vector<events::TrailRecord> records;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {{}, {}},
      {{Record(1, K::kCreated, "data", "RAW/a.rar")}, {"raw/a@1", "raw/b@1"}},
      // The CloudTrail-shaped event comes before the S3-shaped one.
      {{Record(2, K::kCreated, "data", "RAW/t.csv")}, {"csv-trail/c@2", "raw/a@2", "raw/b@2"}},
      {{Record(3, K::kCreated, "other", "RAW/x.csv")}, {"csv-trail/c@3"}},
      {{Record(4, K::kCreated, "data", "raw/a.rar")}, {}},  // prefixes are case-sensitive
      {{Record(5, K::kRemoved, "data", "RAW/a.rar")}, {"gone/d@5"}},
      {{Record(6, K::kCreated, "data", "x"), Record(7, K::kCreated, "data", "RAW/y"),
        Record(8, K::kRemoved, "data", "z.csv")},
       {"raw/a@7", "raw/b@7", "gone/d@8"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(Names(router_.Route(cases[i].records, kNow)), cases[i].want) << "case " << i;
  }
}

TEST_F(RouterTest, AMatchCarriesItsEventAndTheTargetsInputBuiltFromIt) {
  std::vector<events::TrailRecord> records = {Record(1, events::ChangeKind::kCreated, "data", "RAW/a.rar")};
  auto matches = router_.Route(records, kNow);
  ASSERT_EQ(matches.size(), 2u);
  auto event = nlohmann::json::parse(matches[0].event_json);
  EXPECT_EQ(event["detail-type"], "Object Created");
  EXPECT_EQ(matches[0].event_id, event["id"]);
  EXPECT_EQ(matches[0].record, &records[0]);
  ASSERT_TRUE(matches[0].input.ok());
  EXPECT_EQ(nlohmann::json::parse(*matches[0].input), event) << "no Input*: the whole event";
  ASSERT_TRUE(matches[1].input.ok()) << matches[1].input.status().ToString();
  EXPECT_EQ(nlohmann::json::parse(*matches[1].input),
            (nlohmann::json{{"key", "RAW/a.rar"}, {"at", event["time"]}}));
  EXPECT_TRUE(matches[0].replay_name.empty());
}

TEST_F(RouterTest, RoutingTheSameRecordsTwiceGivesTheSameMatches) {
  std::vector<events::TrailRecord> records = {Record(1, events::ChangeKind::kCreated, "data", "RAW/t.csv")};
  auto a = router_.Route(records, kNow), b = router_.Route(records, kNow);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].event_json, b[i].event_json);
    EXPECT_EQ(a[i].event_id, b[i].event_id);
  }
}

TEST_F(RouterTest, WithoutRulesNothingMatches) {
  Router empty{events::TrailIdentity{}};
  EXPECT_TRUE(empty.Route({Record(1, events::ChangeKind::kCreated, "data", "RAW/a")}, kNow).empty());
  EXPECT_EQ(empty.FindRule("raw"), nullptr);
}

TEST_F(RouterTest, AFiringGoesToEveryTargetOfItsRuleWithoutARecord) {
  const Rule* nightly = router_.FindRule("nightly");
  ASSERT_NE(nightly, nullptr);
  auto matches = router_.Fire(*nightly, ScheduledEvent(*nightly, kNow, {"123456789012", "eu-west-2"}), kNow);
  EXPECT_EQ(Names(matches), std::vector<std::string>{"nightly/n@-"});
  EXPECT_EQ(nlohmann::json::parse(matches[0].event_json)["detail-type"], "Scheduled Event");
}

TEST_F(RouterTest, AReplayMatchesOnlyItsRuleAndMarksTheEventsWithTheReplayName) {
  std::vector<events::TrailRecord> records = {Record(1, events::ChangeKind::kCreated, "data", "RAW/a.csv"),
                                              Record(2, events::ChangeKind::kCreated, "data", "b.csv")};
  auto matches = router_.Replay(records, *router_.FindRule("csv-trail"), "again", kNow);
  EXPECT_EQ(Names(matches), (std::vector<std::string>{"csv-trail/c@1", "csv-trail/c@2"}));
  for (const auto& m : matches) {
    EXPECT_EQ(m.replay_name, "again");
    EXPECT_EQ(nlohmann::json::parse(m.event_json)["replay-name"], "again");
  }
  EXPECT_TRUE(router_.Replay(records, *router_.FindRule("nightly"), "again", kNow).empty());
}

// A notification configuration's target gets S3's event message, checked
// against the sample on the S3 user guide's "Event message structure" page.
TEST(RouterS3NotificationTest, ANotificationTargetReceivesS3sEventMessageWithTheKeyUrlEncoded) {
  auto rules = ParseRuleFile(R"J({"Bucket": "data", "LambdaFunctionConfigurations": [{"Id": "etl",
      "LambdaFunctionArn": "arn:aws:lambda:eu-west-2:123456789012:function:Load",
      "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})J", "n.json");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].targets[0].maximum_retry_attempts, kLambdaAsyncRetries) << "Lambda's async defaults";
  EXPECT_EQ((*rules)[0].targets[0].maximum_event_age_seconds, kLambdaAsyncMaxAgeSeconds);
  Router router{events::TrailIdentity{"123456789012", "eu-west-2"}};
  router.SetRules(std::make_shared<const RuleSet>(std::move(rules).value()));
  auto created = Record(26, events::ChangeKind::kCreated, "data", "in/a b+c=d.csv");
  created.time_ns = kNow + 123'456'789;
  created.change.caller = R"({"userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE"},
      "sourceIPAddress": "10.1.2.3", "requestID": "REQ1", "eventName": "PutObject",
      "additionalEventData": {"x-amz-id-2": "HOST2"}})";
  auto removed = Record(27, events::ChangeKind::kRemoved, "data", "in/x");
  auto matches = router.Route({created, removed}, kNow);
  ASSERT_EQ(matches.size(), 2u);
  ASSERT_TRUE(matches[0].input.ok()) << matches[0].input.status().ToString();
  auto message = nlohmann::json::parse(*matches[0].input);
  ASSERT_EQ(message["Records"].size(), 1u) << message.dump();
  const auto& r = message["Records"][0];
  EXPECT_EQ(r["eventVersion"], "2.5");
  EXPECT_EQ(r["eventSource"], "aws:s3");
  EXPECT_EQ(r["awsRegion"], "eu-west-2");
  EXPECT_EQ(r["eventTime"], "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(r["eventName"], "ObjectCreated:Put");
  EXPECT_EQ(r["userIdentity"]["principalId"], "AWS:AIDAEXAMPLE");
  EXPECT_EQ(r["requestParameters"]["sourceIPAddress"], "10.1.2.3");
  EXPECT_EQ(r["responseElements"]["x-amz-request-id"], "REQ1");
  EXPECT_EQ(r["responseElements"]["x-amz-id-2"], "HOST2");
  const auto& s3 = r["s3"];
  EXPECT_EQ(s3["s3SchemaVersion"], "1.0");
  EXPECT_EQ(s3["configurationId"], "etl");
  EXPECT_EQ(s3["bucket"], (nlohmann::json{{"name", "data"},
                                          {"ownerIdentity", {{"principalId", "123456789012"}}},
                                          {"arn", "arn:aws:s3:::data"}}));
  EXPECT_EQ(s3["object"], (nlohmann::json{{"key", "in/a+b%2Bc%3Dd.csv"}, {"size", 3}, {"eTag", "e"},
                                          {"sequencer", "000000000000001A"}}));
  ASSERT_TRUE(matches[1].input.ok());
  const nlohmann::json gone = nlohmann::json::parse(*matches[1].input)["Records"][0];
  EXPECT_EQ(gone["eventName"], "ObjectRemoved:Delete");
  EXPECT_EQ(gone["s3"]["object"], (nlohmann::json{{"key", "in/x"}, {"sequencer", "000000000000001B"}}));
  EXPECT_EQ(nlohmann::json::parse(matches[1].event_json)["detail-type"], "Object Deleted")
      << "the rule still matched the EventBridge event";
}

TEST(S3EventKeyTest, KeysAreFormEncodedAsS3WritesThem) {
  EXPECT_EQ(events::S3EventKey("red flower.jpg"), "red+flower.jpg");
  EXPECT_EQ(events::S3EventKey("a/b c/d+e"), "a/b+c/d%2Be");
  EXPECT_EQ(events::S3EventKey("dt=2018-05-04/_SUCCESS"), "dt%3D2018-05-04/_SUCCESS");
  EXPECT_EQ(events::S3EventKey("10:47 (1).txt"), "10%3A47+%281%29.txt");
  EXPECT_EQ(events::S3EventKey("caf\xc3\xa9~"), "caf%C3%A9%7E");
}

}  // namespace
}  // namespace bucketd::rules
