#include "common/sqlite_checkpointer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "tests/test_util.h"

namespace bucketd {
namespace {

using testing::TempDir;

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

Status Write(SqliteDb& db, int i) {
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db));
  ASSIGN_OR_RETURN(auto ins, db.Prepare("INSERT INTO t VALUES(?, zeroblob(4000))"));
  ins.Bind(1, int64_t{i});
  RETURN_IF_ERROR(ins.Run());
  return txn.Commit();
}

// The committing connection runs no checkpoint of its own (SQLite's hook is
// replaced): the log is kept short only by the checkpointer's thread. Were
// it not to run, 400 commits of a page each would leave a log of 1.6 MB.
TEST(SqliteCheckpointerTest, TheLogIsCopiedBackOffTheCommittingThread) {
  TempDir tmp;
  auto db = SqliteDb::Open(tmp.path() + "/t.db", false);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)").ok());
  auto checkpointer = SqliteCheckpointer::Start(**db, 32, nullptr);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status().message();
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(Write(**db, i).ok());
    if (i % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(60));  // its pace: one try per 50 ms
  }
  EXPECT_GE((*checkpointer)->checkpoints(), 3);
  EXPECT_LT(FileSize(tmp.path() + "/t.db-wal"), 800 << 10);
  EXPECT_GT(FileSize(tmp.path() + "/t.db"), 400 * 4000);  // the rows reached the file itself
  checkpointer->reset();
  auto count = (*db)->Prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->ColumnInt(0), 400);
}

// A reader holding an old snapshot keeps a checkpoint from finishing; the
// writer is not held up, and the log is finished once the reader lets go.
TEST(SqliteCheckpointerTest, AReaderDelaysTheCheckpointButNeverTheWriter) {
  TempDir tmp;
  auto db = SqliteDb::Open(tmp.path() + "/t.db", false);
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB)").ok());
  auto checkpointer = SqliteCheckpointer::Start(**db, 16, nullptr);
  ASSERT_TRUE(checkpointer.ok());
  auto reader = SqliteDb::Open(tmp.path() + "/t.db", true);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Exec("BEGIN").ok());
  auto q = (*reader)->Prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(*q->Step());  // the snapshot is taken
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Write(**db, i).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  EXPECT_GT(FileSize(tmp.path() + "/t.db-wal"), 100 * 4000);  // nothing past the snapshot could go
  q = Status::NotFound("released");
  ASSERT_TRUE((*reader)->Exec("COMMIT").ok());
  for (int i = 100; i < 300; ++i) {
    ASSERT_TRUE(Write(**db, i).ok());
    if (i % 40 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  EXPECT_GT(FileSize(tmp.path() + "/t.db"), 200 * 4000);  // what waited for the reader went through
}

}  // namespace
}  // namespace bucketd
