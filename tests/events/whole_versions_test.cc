// Only whole versions are recorded (issue 13, item 3a): a writer that closes
// a first version, then truncates in place (or unlinks and recreates) and
// writes again left a stale IN_CLOSE_WRITE that bucketd handled without the
// open-for-writing check, so a half-written version was recorded.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/events/fake_plane_fixture.h"

namespace bucketd::events {
namespace {

class WholeVersionsTest : public FakeWatcherPlaneTest {
 protected:
  void Start() { StartWithFakeWatcher(); }
  void Close(const std::string& rel, int64_t read_ns = 0) {
    Hint(rel, IN_CLOSE_WRITE, WatchHint::Kind::kFile, read_ns);
  }
  int64_t MtimeNs(const std::string& rel) {
    struct stat st;
    EXPECT_EQ(::stat((Bucket() + "/" + rel).c_str(), &st), 0);
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  }
  // A writer closes a first version, then truncates it in place (or
  // unlinks and recreates it) and writes "HALF-" before the first close is
  // handled; then the rest, and closes.
  void OnlyTheNextWholeVersionIsRecorded(const std::string& rel, bool recreate) {
    Start();
    std::string path = Bucket() + "/" + rel;
    testing::WriteFile(path, "first complete version\n");
    if (recreate) {
      ASSERT_EQ(::unlink(path.c_str()), 0);
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (recreate ? O_CREAT | O_EXCL : O_TRUNC), 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "HALF-", 5), 5);
    Close(rel);  // the first version's close, handled only now
    Process();
    EXPECT_TRUE(sink_.records.empty()) << "recorded a version its writer still had open";
    ASSERT_EQ(::write(fd, "the rest\n", 9), 9);
    ::close(fd);
    Close(rel);
    Process();
    ASSERT_EQ(sink_.records.size(), 1u);
    EXPECT_EQ(sink_.records[0].change.size, 14u);
  }
};

TEST_F(WholeVersionsTest, AStaleCloseOfAFileTruncatedAndOpenForWritingAgainRecordsOnlyTheNextWholeVersion) {
  OnlyTheNextWholeVersionIsRecorded("report.csv", /*recreate=*/false);
}

TEST_F(WholeVersionsTest, AStaleCloseOfAFileUnlinkedAndRecreatedRecordsOnlyTheNewWholeVersion) {
  OnlyTheNextWholeVersionIsRecorded("r.csv", /*recreate=*/true);
}

// Without leases (another user's upload, no CAP_LEASE) a close is proof
// only for a version no newer than the moment it was read.
TEST_F(WholeVersionsTest, WithoutLeasesACloseOlderThanTheFilesLastWriteWaitsAndAFreshOneRecordsAtOnce) {
  options_.open_check = [](const std::string&) { return OpenState::kUnknown; };
  Start();
  testing::WriteFile(Bucket() + "/fresh.csv", "complete\n");
  Close("fresh.csv", MtimeNs("fresh.csv") + 1000);
  Process();
  ASSERT_EQ(sink_.records.size(), 1u) << "a fresh close is trusted at once, without the one-second wait";

  testing::WriteFile(Bucket() + "/stale.csv", "v1\n");
  int64_t read_at = MtimeNs("stale.csv") + 1000;
  testing::WriteFile(Bucket() + "/stale.csv", "HALF-");
  struct timespec later[2] = {{0, UTIME_OMIT}, {read_at / 1'000'000'000 + 1, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (Bucket() + "/stale.csv").c_str(), later, 0), 0);  // written after the read
  Close("stale.csv", read_at);
  Process();
  EXPECT_EQ(sink_.records.size(), 1u) << "a close read before the file's last write proves nothing";
  Close("stale.csv", MtimeNs("stale.csv") + 1000);  // its own close
  Process();
  ASSERT_EQ(sink_.records.size(), 2u);
  EXPECT_EQ(sink_.records[1].change.size, 5u);
}

}  // namespace
}  // namespace bucketd::events
