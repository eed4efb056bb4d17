// Entries an uploader made unreadable (issue 13, item 1): skipped with one
// warning each, never a reason to stop a start or a rescan, never taken for
// deleted, and recorded once readable.
#include <sys/inotify.h>
#include <sys/stat.h>

#include <algorithm>

#include "tests/events/fake_plane_fixture.h"

namespace bucketd::events {
namespace {

using testing::WriteFile;

class UnreadableTest : public FakeWatcherPlaneTest {
 protected:
  void Start() { StartWithFakeWatcher(); }
  int WarningsAbout(const std::string& what) const {
    return static_cast<int>(std::count_if(log_.begin(), log_.end(), [&](const std::string& l) {
      return l.rfind("W ", 0) == 0 && l.find(what) != std::string::npos;
    }));
  }
  std::string Warnings() const { return LogText(); }
};

TEST_F(UnreadableTest, AnUnreadableFileDoesNotStopTheStartAndIsRecordedOnceItIsChmodedReadable) {
  WriteFile(Bucket() + "/f", "z\n");
  WriteFile(Bucket() + "/g", "fine\n");
  deny_fs_.Deny("f");
  Start();  // asserts the start succeeds
  EXPECT_EQ(sink_.Lines(), std::vector<std::string>{"PutObject data/g"});
  EXPECT_EQ(WarningsAbout("skipping s3://data/f (a file bucketd cannot read"), 1) << Warnings();
  deny_fs_.Allow("f");
  Hint("f", IN_ATTRIB);  // the uploader's chmod
  Process();
  EXPECT_EQ(sink_.Lines(), (std::vector<std::string>{"PutObject data/g", "PutObject data/f"}));
}

TEST_F(UnreadableTest, ARescanSkipsUnreadableFilesRecordsEverythingElseAndWarnsOnce) {
  Start();
  for (int i = 0; i < 50; ++i) WriteFile(Bucket() + "/k" + std::to_string(i), "v");
  deny_fs_.Deny("k0");  // sorts first: a scan that stopped there would record nothing
  deny_fs_.Deny("k25");
  fake_->Push({WatchHint::Kind::kRescanAll, root_ + "/buckets", 0});
  Process();
  EXPECT_EQ(sink_.records.size(), 48u) << Warnings();
  fake_->Push({WatchHint::Kind::kRescanAll, root_ + "/buckets", 0});
  Process();
  EXPECT_EQ(sink_.records.size(), 48u);
  EXPECT_EQ(WarningsAbout("skipping s3://data/k0 "), 1) << "one warning per entry, not one per rescan\n" << Warnings();
  EXPECT_EQ(WarningsAbout("skipping s3://data/k25 "), 1) << Warnings();
}

TEST_F(UnreadableTest, WarningsAreLimitedToTwentyAMinuteAndTheRestCounted) {
  Start();
  for (int i = 0; i < 30; ++i) {
    WriteFile(Bucket() + "/u" + std::to_string(i), "v");
    deny_fs_.Deny("u" + std::to_string(i));
  }
  fake_->Push({WatchHint::Kind::kRescanAll, root_ + "/buckets", 0});
  Process();
  EXPECT_EQ(WarningsAbout("skipping s3://data/u"), 20) << Warnings();
  clock_.Advance(61'000'000'000);
  Tick();
  EXPECT_EQ(WarningsAbout("10 more unreadable entries skipped in the last minute"), 1) << Warnings();
}

TEST_F(UnreadableTest, ADirectoryThatBecameUnreadableIsNotTakenForDeletedAndIsReadAgainOnceReadable) {
  Start();
  ASSERT_EQ(::mkdir((Bucket() + "/d").c_str(), 0755), 0);
  WriteFile(Bucket() + "/d/x", "1");
  Hint("d", IN_CREATE | IN_ISDIR, WatchHint::Kind::kDirAppeared);
  Process();
  ASSERT_EQ(sink_.Lines(), std::vector<std::string>{"PutObject data/d/x"});
  deny_fs_.Deny("d");
  WriteFile(Bucket() + "/d/y", "2");  // lands while bucketd cannot look
  fake_->Push({WatchHint::Kind::kRescanAll, root_ + "/buckets", 0});
  Process();
  Hint("d/x", IN_ATTRIB);
  Process();
  EXPECT_EQ(sink_.Lines(), std::vector<std::string>{"PutObject data/d/x"}) << "no DeleteObject for what it cannot see";
  EXPECT_EQ(WarningsAbout("skipping s3://data/d/ (a directory bucketd cannot read"), 1) << Warnings();
  deny_fs_.Allow("d");
  Hint("d", IN_ATTRIB | IN_ISDIR, WatchHint::Kind::kDirAppeared);  // the watcher, after the chmod
  Process();
  EXPECT_EQ(sink_.Lines(), (std::vector<std::string>{"PutObject data/d/x", "PutObject data/d/y"}));
}

TEST_F(UnreadableTest, ANameThatIsNoKeyGetsOneWarningAndNoRecord) {
  WriteFile(Bucket() + "/bad\xff", "x");
  WriteFile(Bucket() + "/good", "y");
  Start();
  fake_->Push({WatchHint::Kind::kRescanAll, root_ + "/buckets", 0});
  Hint("bad\xff", IN_CLOSE_WRITE);
  Process();
  EXPECT_EQ(sink_.Lines(), std::vector<std::string>{"PutObject data/good"});
  EXPECT_EQ(WarningsAbout("skipping s3://data/bad\\xff: the name is no S3 key (invalid key 'bad\\xff': invalid UTF-8"), 1)
      << Warnings();
}

}  // namespace
}  // namespace bucketd::events
