// The event plane driven by a FakeWatcher over a real store: hint handling,
// de-duplication, open files, rescans, sealing — deterministic, no inotify.
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "events/trail_publisher.h"
#include "tests/events/fake_plane_fixture.h"

namespace bucketd::events {
namespace {

using testing::WriteFile;

class FakePlaneTest : public FakeWatcherPlaneTest {
 protected:
  void SetUp() override {
    FakeWatcherPlaneTest::SetUp();
    StartWithFakeWatcher();
  }
};

TEST_F(FakePlaneTest, CloseWriteRecordsOncePerVersionWhateverTheHintCount) {
  WriteFile(Bucket() + "/a.txt", "hello");
  Hint("a.txt", IN_CLOSE_WRITE);
  Hint("a.txt", IN_CLOSE_WRITE);  // the same version twice
  Hint("a.txt", IN_ATTRIB);
  Process();
  ASSERT_EQ(sink_.Lines(), std::vector<std::string>{"PutObject data/a.txt"});
  EXPECT_EQ(sink_.records[0].change.size, 5u);
  EXPECT_EQ(sink_.records[0].change.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
  Hint("a.txt", IN_CLOSE_WRITE);
  Process();
  EXPECT_EQ(sink_.records.size(), 1u);
}

TEST_F(FakePlaneTest, DeleteOfAnIndexedKeyOnlyAndNothingForUnknownOnes) {
  WriteFile(Bucket() + "/k", "1");
  Hint("k", IN_CLOSE_WRITE);
  Process();
  ::unlink((Bucket() + "/k").c_str());
  Hint("k", IN_DELETE);
  Hint("never-seen", IN_DELETE);
  Process();
  EXPECT_EQ(sink_.Lines(), (std::vector<std::string>{"PutObject data/k", "DeleteObject data/k"}));
}

TEST_F(FakePlaneTest, FileStillOpenForWritingFiresOnlyAtItsClose) {
  int fd = ::open((Bucket() + "/growing.csv").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "half", 4), 4);
  Hint("growing.csv", IN_CREATE);
  Process();
  clock_.Advance(10'000'000'000);
  Tick();  // the recheck: still open
  EXPECT_TRUE(sink_.records.empty());
  ASSERT_EQ(::write(fd, " and the rest", 13), 13);
  ::close(fd);
  Hint("growing.csv", IN_CLOSE_WRITE);
  Process();
  clock_.Advance(1'000'000'000);
  Tick();
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].change.size, 17u);
}

TEST_F(FakePlaneTest, HardLinkPublishedWholeIsRecordedOnItsCreate) {
  WriteFile(tmp_ / "outside.bin", "complete");
  ASSERT_EQ(::link((tmp_ / "outside.bin").c_str(), (Bucket() + "/linked.bin").c_str()), 0);
  Hint("linked.bin", IN_CREATE);
  Process();
  EXPECT_EQ(sink_.Lines(), std::vector<std::string>{"PutObject data/linked.bin"});
}

TEST_F(FakePlaneTest, NewDirectoryIsScannedAndRescansFindOnlyDifferences) {
  ::mkdir((Bucket() + "/d").c_str(), 0755);
  ::mkdir((Bucket() + "/d/e").c_str(), 0755);
  WriteFile(Bucket() + "/d/1", "1");
  WriteFile(Bucket() + "/d/e/2", "2");
  Hint("d", IN_CREATE | IN_ISDIR, WatchHint::Kind::kDirAppeared);
  Hint("d/e/2", IN_CLOSE_WRITE);  // also reported by the watch: no double
  Process();
  EXPECT_EQ(sink_.records.size(), 2u);
  WriteFile(Bucket() + "/d/3", "3");
  ::unlink((Bucket() + "/d/1").c_str());
  fake_->Push({WatchHint::Kind::kRescanAll, root_ + "/buckets", IN_Q_OVERFLOW});
  Process();
  auto lines = sink_.Lines();
  ASSERT_EQ(lines.size(), 4u);
  std::sort(lines.begin() + 2, lines.end());
  EXPECT_EQ(lines[2], "DeleteObject data/d/1");
  EXPECT_EQ(lines[3], "PutObject data/d/3");
  EXPECT_EQ(plane_->stats().rescans, 1u);
}

TEST_F(FakePlaneTest, DirectoryMovedAwayRemovesEveryKeyUnderIt) {
  ::mkdir((Bucket() + "/m").c_str(), 0755);
  WriteFile(Bucket() + "/m/1", "1");
  WriteFile(Bucket() + "/m/2", "2");
  Hint("m", IN_CREATE | IN_ISDIR, WatchHint::Kind::kDirAppeared);
  Process();
  ASSERT_EQ(::rename((Bucket() + "/m").c_str(), (tmp_ / "m-away").c_str()), 0);
  Hint("m", IN_MOVED_FROM | IN_ISDIR, WatchHint::Kind::kDirGone);
  Process();
  EXPECT_EQ(sink_.records.size(), 4u);
  EXPECT_EQ(sink_.records[2].change.kind, ChangeKind::kRemoved);
  EXPECT_EQ(sink_.records[3].change.kind, ChangeKind::kRemoved);
}

TEST_F(FakePlaneTest, StorePutsGiveOneRecordEachAndTrailBucketNone) {
  ASSERT_TRUE(store_->PutObjectFromString("data", "via/store", "x").ok());
  Hint("via", IN_CREATE | IN_ISDIR, WatchHint::Kind::kDirAppeared);
  Hint("via/store", IN_MOVED_TO);
  fake_->Push({WatchHint::Kind::kFile, root_ + "/buckets/bucketd-trail/AWSLogs/x", IN_CLOSE_WRITE});
  Process();
  EXPECT_EQ(sink_.Lines(), std::vector<std::string>{"PutObject data/via/store"});
}

TEST_F(FakePlaneTest, SealsAfterOneIdleSecondIntoAGzippedCloudTrailFile) {
  WriteFile(Bucket() + "/s", "1");
  Hint("s", IN_CLOSE_WRITE);
  Process();
  Tick();
  auto listed = store_->ListObjectsV2("bucketd-trail", store::ListRequest());
  EXPECT_TRUE(listed->contents.empty());  // not idle yet
  clock_.Advance(1'100'000'000);
  Tick();
  listed = store_->ListObjectsV2("bucketd-trail", store::ListRequest());
  ASSERT_EQ(listed->contents.size(), 1u);
  EXPECT_NE(listed->contents[0].key.find("AWSLogs/000000000000/CloudTrail/local/"), std::string::npos);
  struct Sink : store::ByteSink {
    Status Write(std::string_view d) override { data.append(d); return Status::OK(); }
    std::string data;
  } sink;
  ASSERT_TRUE(store_->GetObject("bucketd-trail", listed->contents[0].key, sink).ok());
  auto json = nlohmann::json::parse(*Gunzip(sink.data));
  ASSERT_EQ(json["Records"].size(), 1u);
  EXPECT_EQ(json["Records"][0]["requestParameters"]["key"], "s");
  EXPECT_EQ(json["Records"][0]["eventID"], sink_.records[0].event_id);
}

TEST_F(FakePlaneTest, SealsAFullFileAtFourMegabytesWithoutWaiting) {
  std::vector<ObjectChange> many;
  for (int i = 0; i < 12000; ++i) {  // ~700 bytes of JSON each: over 4 MiB
    many.push_back({ChangeKind::kCreated, "data", "bulk/" + std::to_string(i), 1, "\"e\"", 1, 0, "t", "", ""});
  }
  ASSERT_TRUE(trail_->AppendDurably(many).ok());
  StopPlane();  // as after a restart with a backlog: the plane must look at it
  StartPlane(std::make_unique<FakeWatcher>());
  ASSERT_TRUE(plane_->PublishPending(false).ok());  // nothing idle yet, but one file is full
  auto listed = store_->ListObjectsV2("bucketd-trail", store::ListRequest());
  ASSERT_GE(listed->contents.size(), 1u);
  for (const auto& o : listed->contents) EXPECT_LT(o.size, 4u << 20);
  EXPECT_LT(trail_->Unpublished(100000)->size(), 12001u);  // the full part went out
}

}  // namespace
}  // namespace bucketd::events
