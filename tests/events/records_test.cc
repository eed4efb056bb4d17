// Record shapes: the CloudTrail record and both EventBridge events carry the
// fields AWS documents for S3 data events and S3 EventBridge notifications.
#include <gtest/gtest.h>

#include "events/reconcile.h"
#include "events/records.h"
#include "events/trail_publisher.h"

namespace bucketd::events {
namespace {

TrailRecord Sample(ChangeKind kind) {
  TrailRecord r;
  r.seq = 26;
  r.event_id = "3b5f6c1e-0c8e-4d5e-9a3f-2f0a6a1d9e10";
  r.time_ns = 1795339570123000000LL;  // 2026-11-22T09:26:10.123Z
  r.change = {kind, "creditsafedata", "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json", 42,
              "\"0123456789abcdef0123456789abcdef\"", 0, 0, "bucketd/inotify", "", ""};
  return r;
}

TEST(RecordsTest, CloudTrailRecordHasAwsFieldNames) {
  TrailIdentity id{"123456789012", "eu-west-2"};
  auto rec = CloudTrailRecord(Sample(ChangeKind::kCreated), id);
  EXPECT_EQ(rec["eventSource"], "s3.amazonaws.com");
  EXPECT_EQ(rec["eventName"], "PutObject");
  EXPECT_EQ(rec["eventTime"], "2026-11-22T09:26:10Z");
  EXPECT_EQ(rec["eventID"], "3b5f6c1e-0c8e-4d5e-9a3f-2f0a6a1d9e10");
  EXPECT_EQ(rec["awsRegion"], "eu-west-2");
  EXPECT_EQ(rec["readOnly"], false);
  EXPECT_EQ(rec["requestParameters"]["bucketName"], "creditsafedata");
  EXPECT_EQ(rec["requestParameters"]["key"], "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json");
  EXPECT_EQ(rec["additionalEventData"]["bytesTransferredIn"], 42);
  EXPECT_EQ(rec["resources"][0]["type"], "AWS::S3::Object");
  EXPECT_EQ(rec["resources"][0]["ARN"],
            "arn:aws:s3:::creditsafedata/LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json");
  EXPECT_EQ(rec["resources"][1]["ARN"], "arn:aws:s3:::creditsafedata");
  EXPECT_EQ(rec["userIdentity"]["userName"], "root");  // uid 0
  EXPECT_EQ(rec["recipientAccountId"], "123456789012");
  EXPECT_EQ(CloudTrailRecord(Sample(ChangeKind::kRemoved), id)["eventName"], "DeleteObject");
}

TEST(RecordsTest, EventBridgeEventsInBothShapes) {
  TrailIdentity id;
  auto events = EventBridgeEvents(Sample(ChangeKind::kCreated), id);
  ASSERT_EQ(events.size(), 2u);
  const auto& ct = events[0];
  EXPECT_EQ(ct["detail-type"], "AWS API Call via CloudTrail");
  EXPECT_EQ(ct["source"], "aws.s3");
  EXPECT_EQ(ct["detail"]["eventName"], "PutObject");
  const auto& s3 = events[1];
  EXPECT_EQ(s3["detail-type"], "Object Created");
  EXPECT_EQ(s3["source"], "aws.s3");
  EXPECT_EQ(s3["resources"][0], "arn:aws:s3:::creditsafedata");
  EXPECT_EQ(s3["detail"]["bucket"]["name"], "creditsafedata");
  EXPECT_EQ(s3["detail"]["object"]["key"], "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json");
  EXPECT_EQ(s3["detail"]["object"]["size"], 42);
  EXPECT_EQ(s3["detail"]["object"]["etag"], "0123456789abcdef0123456789abcdef");  // no quotes
  EXPECT_EQ(s3["detail"]["object"]["sequencer"], "000000000000001A");
  for (const auto& e : events) {
    for (const char* f : {"version", "id", "account", "time", "region", "resources"}) {
      EXPECT_TRUE(e.contains(f)) << f;
    }
  }
  EXPECT_NE(ct["id"], s3["id"]);
  EXPECT_EQ(EventBridgeEvents(Sample(ChangeKind::kCreated), id)[1]["id"], s3["id"]);  // stable
  auto del = EventBridgeEvents(Sample(ChangeKind::kRemoved), id)[1];
  EXPECT_EQ(del["detail-type"], "Object Deleted");
  EXPECT_EQ(del["detail"]["deletion-type"], "Permanently Deleted");
  EXPECT_FALSE(del["detail"]["object"].contains("size"));
}

TEST(RecordsTest, AnApiCallIsOneCloudTrailShapedEventWithItsErrorAndReadOnly) {
  TrailIdentity id{"123456789012", "eu-west-2"};
  TrailRecord r = Sample(ChangeKind::kApiCall);
  r.change.caller = R"({"eventName":"GetObject","readOnly":true,"requestID":"R1","errorCode":"NoSuchKey",
                        "errorMessage":"The specified key does not exist.",
                        "additionalEventData":{"bytesTransferredOut":0}})";
  auto rec = CloudTrailRecord(r, id);
  EXPECT_EQ(rec["eventName"], "GetObject");
  EXPECT_EQ(rec["readOnly"], true);
  EXPECT_EQ(rec["errorCode"], "NoSuchKey");
  EXPECT_EQ(rec["errorMessage"], "The specified key does not exist.");
  EXPECT_EQ(rec["requestID"], "R1");
  EXPECT_EQ(rec["additionalEventData"]["bytesTransferredIn"], 0);
  EXPECT_TRUE(rec["responseElements"].is_null());
  auto events = EventBridgeEvents(r, id);
  ASSERT_EQ(events.size(), 1u) << "no Object Created/Deleted event for a call that changed nothing";
  EXPECT_EQ(events[0]["detail-type"], "AWS API Call via CloudTrail");
  EXPECT_EQ(events[0]["detail"]["eventName"], "GetObject");
}

TEST(RecordsTest, SequencerOrdersEventsOfAKey) {
  TrailRecord a = Sample(ChangeKind::kCreated), b = a;
  b.seq = 27;
  EXPECT_LT(a.Sequencer(), b.Sequencer());
  b.seq = 0x100;
  EXPECT_LT(a.Sequencer(), b.Sequencer());  // fixed width: string order is number order
}

TEST(RecordsTest, UuidsAreVersion4AndDistinct) {
  std::string a = NewUuid(SystemRandom()), b = NewUuid(SystemRandom());
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_EQ(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b', true) << a;
}

TEST(RecordsTest, UuidsComeFromTheInjectedRandomness) {
  struct Counter final : Random {
    uint64_t n = 0;
    uint64_t Next() override { return n++; }
  } counter;
  EXPECT_EQ(NewUuid(counter), "00000000-0000-4000-8100-000000000000");
  EXPECT_EQ(NewUuid(counter), "02000000-0000-4000-8300-000000000000");
}

TEST(TrailFileTest, KeyFollowsCloudTrailLayoutAndGzipRoundTrips) {
  TrailIdentity id{"123456789012", "local"};
  std::vector<TrailRecord> recs = {Sample(ChangeKind::kCreated), Sample(ChangeKind::kRemoved)};
  recs[1].seq = 27;
  EXPECT_EQ(TrailFileKey("", id, recs),
            "AWSLogs/123456789012/CloudTrail/local/2026/11/22/"
            "123456789012_CloudTrail_local_20261122T0926Z_000000000000001A-000000000000001B.json.gz");
  auto gz = Gzip("{\"Records\":[]}");
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(*Gunzip(*gz), "{\"Records\":[]}");
  EXPECT_FALSE(Gunzip("not gzip").ok());
}

TEST(ReconcileTest, DiffFindsNewChangedAndRemovedKeys) {
  std::map<std::string, IndexEntry> indexed = {
      {"same", {10, 100, "\"a\"", 1}},
      {"resized", {10, 100, "\"b\"", 2}},
      {"touched", {10, 100, "\"c\"", 3}},
      {"gone", {10, 100, "\"d\"", 4}},
  };
  std::vector<store::ObjectStat> disk = {
      {"same", 10, 100, 0}, {"resized", 11, 100, 0}, {"touched", 10, 101, 0}, {"new", 1, 1, 0}};
  TreeDiff d = Diff(indexed, disk);
  std::vector<std::string> changed;
  for (const auto& o : d.created_or_changed) changed.push_back(o.key);
  EXPECT_EQ(changed, (std::vector<std::string>{"resized", "touched", "new"}));
  EXPECT_EQ(d.removed, std::vector<std::string>{"gone"});
  EXPECT_TRUE(Diff({}, {}).created_or_changed.empty());
}

}  // namespace
}  // namespace bucketd::events
