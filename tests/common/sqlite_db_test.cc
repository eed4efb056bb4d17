#include "common/sqlite_db.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/test_util.h"

namespace bucketd {
namespace {

using testing::TempDir;

std::unique_ptr<SqliteDb> OpenDb(const TempDir& tmp) {
  auto db = SqliteDb::Open(tmp.path() + "/t.db", false);
  EXPECT_TRUE(db.ok()) << db.status().message();
  EXPECT_TRUE((*db)->Exec("CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)").ok());
  return std::move(*db);
}

int64_t CountRows(SqliteDb& db) {
  auto q = db.Prepare("SELECT count(*) FROM t");
  EXPECT_TRUE(q.ok());
  EXPECT_TRUE(*q->Step());
  return q->ColumnInt(0);
}

// The statement kept from the last Prepare comes back rewound and with no
// bindings: a SELECT left mid-step neither holds its snapshot nor returns
// its old rows, and a parameter not bound again is NULL.
TEST(SqliteDbTest, APreparedStatementUsedAgainStartsClean) {
  TempDir tmp;
  auto db = OpenDb(tmp);
  for (int i = 0; i < 3; ++i) {
    auto ins = db->Prepare("INSERT INTO t(k, v) VALUES(?, ?)");
    ASSERT_TRUE(ins.ok());
    ins->Bind(1, "k" + std::to_string(i)).Bind(2, int64_t{i});
    ASSERT_TRUE(ins->Run().ok());
  }
  {
    auto q = db->Prepare("SELECT k FROM t ORDER BY k");
    ASSERT_TRUE(*q->Step());
    EXPECT_EQ(q->ColumnText(0), "k0");  // left on its first row
  }
  auto q = db->Prepare("SELECT k FROM t ORDER BY k");
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->ColumnText(0), "k0");
  auto ins = db->Prepare("INSERT INTO t(k, v) VALUES(?, ?)");
  ins->Bind(1, std::string_view("k9"));
  ASSERT_TRUE(ins->Run().ok());
  auto v = db->Prepare("SELECT v IS NULL FROM t WHERE k = 'k9'");
  ASSERT_TRUE(*v->Step());
  EXPECT_EQ(v->ColumnInt(0), 1);
}

// Two live statements of one SQL text are two statements: the second is
// parsed anew, not the first one shared.
TEST(SqliteDbTest, TheSameSqlPreparedTwiceAtOnceGivesTwoCursors) {
  TempDir tmp;
  auto db = OpenDb(tmp);
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES('a', 1); INSERT INTO t VALUES('b', 2);").ok());
  auto outer = db->Prepare("SELECT k FROM t ORDER BY k");
  auto inner = db->Prepare("SELECT k FROM t ORDER BY k");
  ASSERT_TRUE(*outer->Step());
  ASSERT_TRUE(*inner->Step());
  ASSERT_TRUE(*inner->Step());
  EXPECT_EQ(outer->ColumnText(0), "a");
  EXPECT_EQ(inner->ColumnText(0), "b");
}

TEST(SqliteDbTest, OneStatementExecNamesTheDatabaseAndTheSqlOnError) {
  TempDir tmp;
  auto db = OpenDb(tmp);
  ASSERT_TRUE(db->Exec("INSERT INTO t VALUES('a', 1)").ok());
  Status dup = db->Exec("INSERT INTO t VALUES('a', 2);");
  EXPECT_FALSE(dup.ok());
  EXPECT_NE(dup.message().find(tmp.path() + "/t.db: sql 'INSERT INTO t VALUES('a', 2)'"), std::string::npos)
      << dup.message();
  EXPECT_NE(dup.message().find("UNIQUE constraint failed"), std::string::npos) << dup.message();
  EXPECT_TRUE(db->Exec("  ").ok());
  EXPECT_FALSE(db->Prepare("").ok());
  EXPECT_EQ(CountRows(*db), 1);
}

// BEGIN and COMMIT come from the cache too; a rolled-back transaction
// leaves nothing, a committed one everything, again and again.
TEST(SqliteDbTest, TransactionsOnKeptStatements) {
  TempDir tmp;
  auto db = OpenDb(tmp);
  for (int i = 0; i < 5; ++i) {
    {
      auto txn = Transaction::Begin(*db);
      ASSERT_TRUE(txn.ok());
      ASSERT_TRUE(db->Exec("INSERT INTO t VALUES('gone" + std::to_string(i) + "', 0)").ok());
    }  // rolled back
    auto txn = Transaction::Begin(*db);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES('kept" + std::to_string(i) + "', 0)").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(CountRows(*db), 5);
}

// A statement still out when its database closes is finalized later, and
// the connection with it (sqlite3_close_v2): no crash, no leak under ASan.
TEST(SqliteDbTest, AStatementMayOutliveItsDatabaseObject) {
  TempDir tmp;
  Result<SqliteStatement> q = Status::NotFound("unset");
  {
    auto db = OpenDb(tmp);
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES('a', 1)").ok());
    q = db->Prepare("SELECT k FROM t");
  }
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->Step());
  EXPECT_EQ(q->ColumnText(0), "a");
}

}  // namespace
}  // namespace bucketd
