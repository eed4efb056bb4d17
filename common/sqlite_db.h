// The one wrapper around SQLite's C API (STYLE.md §10): every return code is
// checked and sqlite3_errmsg becomes a Status.
//
// Thread-safety: a SqliteDb and its statements belong to one thread at a
// time. Several processes may open the same file (WAL mode).
#ifndef BUCKETD_COMMON_SQLITE_DB_H_
#define BUCKETD_COMMON_SQLITE_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace bucketd {

// A database's prepared statements, kept for the next Prepare of the same
// SQL: parsing is most of the CPU of a small transaction. Shared with the
// statements handed out, which come back here when they are destroyed.
class StatementCache {
 public:
  StatementCache() = default;
  ~StatementCache();
  // A prepared statement for `sql` (reset, no bindings), or nullptr.
  sqlite3_stmt* Take(const std::string& sql);
  // Keeps `stmt` for the next Take of `sql`, or finalizes it (closed, full,
  // or one is kept for that SQL already).
  void Give(std::string sql, sqlite3_stmt* stmt);
  // Finalizes what is kept; later statements are finalized when given back.
  void Close();

 private:
  bool closed_ = false;
  std::unordered_map<std::string, sqlite3_stmt*> kept_;
};

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, std::string sql,
                  std::shared_ptr<StatementCache> cache = nullptr);
  SqliteStatement(SqliteStatement&&) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) noexcept;
  ~SqliteStatement();

  // Parameters are 1-based, as in SQLite.
  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, std::string_view value);
  SqliteStatement& Bind(int index, double value);
  SqliteStatement& BindNull(int index);
  // true: a row is ready; false: done. Errors name the statement.
  Result<bool> Step();
  // Step() until done (for statements that return no rows).
  Status Run();
  // Clears bindings and rewinds, for reuse.
  void Reset();

  int64_t ColumnInt(int col) const;
  std::string ColumnText(int col) const;
  double ColumnDouble(int col) const;
  bool ColumnIsNull(int col) const;
  int ColumnCount() const;
  std::string ColumnName(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  Status bind_error_;
  std::shared_ptr<StatementCache> cache_;
};

class SqliteDb {
 public:
  // Opens (creating unless read_only) the database at `path`. In write mode
  // it sets WAL journaling with synchronous=FULL: a committed transaction is
  // on disk when Commit returns.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path, bool read_only);
  ~SqliteDb();

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  // One statement; the same SQL prepared again reuses the parse.
  Result<SqliteStatement> Prepare(std::string_view sql);
  int64_t LastInsertRowId() const;
  // Rows changed by the last statement.
  int64_t Changes() const;
  // The handle, for what this wrapper does not cover (user functions, the
  // statement-by-statement run of a script).
  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::string path)
      : db_(db), path_(std::move(path)), cache_(std::make_shared<StatementCache>()) {}
  sqlite3* db_;
  std::string path_;
  std::shared_ptr<StatementCache> cache_;
};

// One transaction on a SqliteDb: the only place bucketd writes BEGIN. It
// rolls back when it goes out of scope without a successful Commit, so an
// early return on an error can never leave half a batch committed.
//
// kDurable commits with an fsync (synchronous=FULL): what it wrote survives
// a power cut once Commit returns. kRelaxed commits without one
// (synchronous=NORMAL in WAL mode): it survives a crash of bucketd, not a
// power cut, until the next durable commit — for state whose truth is also
// kept elsewhere (run directories) or that may safely repeat.
//
// Thread-safety: as the SqliteDb it runs on. REQUIRES: no other transaction
// is open on the same SqliteDb.
class Transaction {
 public:
  enum class Durability { kDurable, kRelaxed };
  // Takes the write lock at once (BEGIN IMMEDIATE): Unavailable when another
  // process holds it, IOError for what SQLite says otherwise.
  static Result<Transaction> Begin(SqliteDb& db, Durability durability = Durability::kDurable);
  Transaction(Transaction&& o) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  // IOError (disk full, I/O error): nothing was committed, and the
  // transaction is rolled back.
  Status Commit();
  void Rollback();
  SqliteDb& db() { return *db_; }

 private:
  Transaction(SqliteDb* db, Durability durability) : db_(db), durability_(durability) {}
  void End();
  SqliteDb* db_;
  Durability durability_;
  bool open_ = true;
};

}  // namespace bucketd

#endif  // BUCKETD_COMMON_SQLITE_DB_H_
