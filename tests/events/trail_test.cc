// The trail database on a real file: appends, the index, publishing marks,
// trimming and queries; and a reader beside a writer.
#include "events/trail.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace bucketd::events {
namespace {

ObjectChange Put(const std::string& key, uint64_t size, int64_t mtime = 1) {
  return {ChangeKind::kCreated, "b", key, size, "\"e\"", mtime, 0, "test", "", ""};
}
ObjectChange Del(const std::string& key) { return {ChangeKind::kRemoved, "b", key, 0, "", 0, 0, "test", "", ""}; }

TEST(TrailTest, AppendAssignsIncreasingSequencesAndUpdatesTheIndex) {
  testing::TempDir tmp;
  auto trail = Trail::Open(Env::Default(), tmp.path());
  ASSERT_TRUE(trail.ok()) << trail.status().ToString();
  auto a = (*trail)->AppendDurably({Put("x", 1), Put("y", 2)});
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_LT((*a)[0].seq, (*a)[1].seq);
  EXPECT_NE((*a)[0].event_id, (*a)[1].event_id);
  auto b = (*trail)->AppendDurably({Put("x", 5, 9), Del("y")});
  ASSERT_TRUE(b.ok());
  auto x = (*trail)->Lookup("b", "x");
  ASSERT_TRUE(x.ok() && x->has_value());
  EXPECT_EQ((*x)->size, 5u);
  EXPECT_EQ((*x)->mtime_ns, 9);
  EXPECT_EQ((*x)->seq, (*b)[0].seq);
  EXPECT_FALSE((*trail)->Lookup("b", "y")->has_value());
  EXPECT_EQ(*(*trail)->LastSeq(), (*b)[1].seq);
}

TEST(TrailTest, AnApiCallTakesASequenceNumberAndLeavesTheIndexAlone) {
  testing::TempDir tmp;
  auto trail = Trail::Open(Env::Default(), tmp.path());
  ASSERT_TRUE((*trail)->AppendDurably({Put("x", 1)}).ok());
  ObjectChange read{ChangeKind::kApiCall, "b", "x", 0, "", 0, 0, "bucketd/api", "",
                    R"({"eventName":"GetObject","readOnly":true})"};
  ObjectChange denied{ChangeKind::kApiCall, "b", "y", 0, "", 0, 0, "bucketd/api", "",
                      R"({"eventName":"PutObject","errorCode":"AccessDenied"})"};
  auto a = (*trail)->AppendDurably({read, denied});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*(*trail)->LastSeq(), (*a)[1].seq);
  auto x = (*trail)->Lookup("b", "x");
  ASSERT_TRUE(x.ok() && x->has_value());
  EXPECT_EQ((*x)->size, 1u);
  EXPECT_LT((*x)->seq, (*a)[0].seq);
  EXPECT_FALSE((*trail)->Lookup("b", "y")->has_value());
  auto found = (*trail)->Find(TrailQuery{});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 3u);
  EXPECT_EQ((*found)[1].change.kind, ChangeKind::kApiCall);
  EXPECT_EQ((*found)[2].EventName(), "PutObject");
}

TEST(TrailTest, ForEachIndexedSelectsAPrefix) {
  testing::TempDir tmp;
  auto trail = Trail::Open(Env::Default(), tmp.path());
  ASSERT_TRUE((*trail)->AppendDurably({Put("a/1", 1), Put("a/2", 1), Put("ab", 1), Put("b/1", 1)}).ok());
  std::vector<std::string> keys;
  ASSERT_TRUE((*trail)->ForEachIndexed("b", "a/", [&](const std::string& k, const IndexEntry&) {
    keys.push_back(k);
  }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2"}));
  EXPECT_EQ(*(*trail)->IndexedBuckets(), std::vector<std::string>{"b"});
}

TEST(TrailTest, PublishedRecordsAreTrimmedAndUnpublishedKept) {
  testing::TempDir tmp;
  auto trail = Trail::Open(Env::Default(), tmp.path());
  auto recs = (*trail)->AppendDurably({Put("1", 1), Put("2", 1), Put("3", 1)});
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ((*trail)->Unpublished(10)->size(), 3u);
  ASSERT_TRUE((*trail)->MarkPublished((*recs)[1].seq).ok());
  auto left = (*trail)->Unpublished(10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].change.key, "3");
  ASSERT_TRUE((*trail)->TrimPublished(INT64_MAX).ok());
  TrailQuery all;
  EXPECT_EQ((*trail)->Find(all)->size(), 1u);  // only the unpublished one stays
  EXPECT_TRUE((*trail)->Lookup("b", "1")->has_value());  // the index is not the log
}

TEST(TrailTest, QueriesFilterByBucketPrefixKeyAndSequence) {
  testing::TempDir tmp;
  auto trail = Trail::Open(Env::Default(), tmp.path());
  ASSERT_TRUE((*trail)->AppendDurably({Put("logs/1", 1), Put("logs/2", 1), Put("data/1", 1), Del("logs/1")}).ok());
  TrailQuery q;
  q.prefix = "logs/";
  EXPECT_EQ((*trail)->Find(q)->size(), 3u);
  q.key = "logs/1";
  auto one = (*trail)->Find(q);
  ASSERT_EQ(one->size(), 2u);
  EXPECT_EQ((*one)[1].change.kind, ChangeKind::kRemoved);
  q = TrailQuery();
  q.after_seq = (*one)[0].seq;
  EXPECT_EQ((*trail)->Find(q)->size(), 3u);
  q = TrailQuery();
  q.bucket = "other";
  EXPECT_TRUE((*trail)->Find(q)->empty());
}

TEST(TrailTest, ReaderSeesWhatTheWriterCommittedAndIdentityPersists) {
  testing::TempDir tmp;
  auto writer = Trail::Open(Env::Default(), tmp.path());
  ASSERT_TRUE((*writer)->SetIdentity({"123456789012", "eu-west-2"}).ok());
  ASSERT_TRUE((*writer)->AppendDurably({Put("k", 3)}).ok());
  auto reader = Trail::Open(Env::Default(), tmp.path(), /*read_only=*/true);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->Find(TrailQuery())->size(), 1u);
  EXPECT_EQ((*reader)->Identity()->region, "eu-west-2");
  ASSERT_TRUE((*writer)->AppendDurably({Put("k2", 3)}).ok());
  EXPECT_EQ((*reader)->Find(TrailQuery())->size(), 2u);
}

}  // namespace
}  // namespace bucketd::events
