#include "common/sqlite_db.h"

#include <sqlite3.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

namespace bucketd {

namespace {

// SQLite says "disk I/O error" for a full disk; the errno behind it says
// what to do about it.
std::string OsCause(sqlite3* db, int rc) {
  int primary = rc & 0xff;
  if (db == nullptr || (primary != SQLITE_IOERR && primary != SQLITE_FULL && primary != SQLITE_CANTOPEN)) return "";
  int err = sqlite3_system_errno(db);
  if (err == ENOSPC || (err == 0 && primary == SQLITE_FULL)) return " (no space left on device)";
  if (err == 0) return "";
  std::string m = std::strerror(err);
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return " (" + m + ")";
}

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  m += OsCause(db, rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(m);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(m);
    case SQLITE_CANTOPEN:
      return Status::NotFound(m);
    default:
      return Status::IOError(m);  // SQLITE_FULL, SQLITE_IOERR, …
  }
}

// Enough for every statement bucketd's own code writes; SQL made up at run
// time (a stage's queries) beyond it is parsed each time, as before.
constexpr size_t kMaxKeptStatements = 128;

}  // namespace

StatementCache::~StatementCache() { Close(); }

sqlite3_stmt* StatementCache::Take(const std::string& sql) {
  auto it = kept_.find(sql);
  if (it == kept_.end()) return nullptr;
  sqlite3_stmt* stmt = it->second;
  kept_.erase(it);
  return stmt;
}

void StatementCache::Give(std::string sql, sqlite3_stmt* stmt) {
  if (stmt == nullptr) return;
  if (closed_ || kept_.size() >= kMaxKeptStatements || kept_.count(sql)) {
    sqlite3_finalize(stmt);
    return;
  }
  // A statement left mid-step would hold its read snapshot open.
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  kept_.emplace(std::move(sql), stmt);
}

void StatementCache::Close() {
  closed_ = true;
  for (auto& [sql, stmt] : kept_) sqlite3_finalize(stmt);
  kept_.clear();
}

SqliteStatement::SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, std::string sql,
                                 std::shared_ptr<StatementCache> cache)
    : db_(db), stmt_(stmt), sql_(std::move(sql)), cache_(std::move(cache)) {}

SqliteStatement::SqliteStatement(SqliteStatement&& o) noexcept
    : db_(o.db_),
      stmt_(std::exchange(o.stmt_, nullptr)),
      sql_(std::move(o.sql_)),
      bind_error_(std::move(o.bind_error_)),
      cache_(std::move(o.cache_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& o) noexcept {
  if (this != &o) {
    SqliteStatement replaced(std::move(*this));  // gives its statement back
    db_ = o.db_;
    stmt_ = std::exchange(o.stmt_, nullptr);
    sql_ = std::move(o.sql_);
    bind_error_ = std::move(o.bind_error_);
    cache_ = std::move(o.cache_);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() {
  if (stmt_ == nullptr) return;
  if (cache_) {
    cache_->Give(std::move(sql_), std::exchange(stmt_, nullptr));
  } else {
    sqlite3_finalize(std::exchange(stmt_, nullptr));
  }
}

SqliteStatement& SqliteStatement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind");
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_.ok()) bind_error_ = SqliteError(db_, rc, "bind");
  return *this;
}

Result<bool> SqliteStatement::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "sql '" + sql_.substr(0, 80) + "'");
}

Status SqliteStatement::Run() {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::OK();
  }
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::OK();
}

int64_t SqliteStatement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string SqliteStatement::ColumnText(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(n)) : std::string();
}

double SqliteStatement::ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }

int SqliteStatement::ColumnCount() const { return sqlite3_column_count(stmt_); }

std::string SqliteStatement::ColumnName(int col) const {
  const char* n = sqlite3_column_name(stmt_, col);
  return n ? n : "";
}

bool SqliteStatement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(db, rc, "open database '" + path + "'");
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<SqliteDb> out(new SqliteDb(db, path));
  // Readers wait for a writer's checkpoint instead of failing at once.
  sqlite3_busy_timeout(db, 5000);
  if (!read_only) {
    RETURN_IF_ERROR(out->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  }
  return out;
}

SqliteDb::~SqliteDb() {
  cache_->Close();
  sqlite3_close_v2(db_);  // a statement still out closes it when finalized
}

Status SqliteDb::Exec(std::string_view sql) {
  std::string s(sql);
  if (s.find_first_not_of(" \t\n") == std::string::npos) return Status::OK();
  // One statement (BEGIN, COMMIT, a PRAGMA): from the cache, not parsed again.
  if (size_t semi = s.find(';'); semi == std::string::npos || semi + 1 == s.size()) {
    if (semi != std::string::npos) s.pop_back();
    auto stmt = Prepare(s);
    Status run = stmt.ok() ? stmt->Run() : stmt.status();
    return run.ok() ? run : Status(run.code(), path_ + ": " + run.message());
  }
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string m = path_ + ": sql '" + s.substr(0, 80) + "': " + (err ? err : sqlite3_errstr(rc)) +
                    OsCause(db_, rc);
    sqlite3_free(err);
    Status st = SqliteError(nullptr, rc, "");
    return Status(st.code(), m);
  }
  return Status::OK();
}

Result<SqliteStatement> SqliteDb::Prepare(std::string_view sql) {
  std::string text(sql);
  if (sqlite3_stmt* kept = cache_->Take(text)) return SqliteStatement(db_, kept, std::move(text), cache_);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare '" + std::string(sql.substr(0, 80)) + "'");
  if (stmt == nullptr) return Status::InvalidArgument("prepare '" + text.substr(0, 80) + "': no statement in it");
  return SqliteStatement(db_, stmt, std::move(text), cache_);
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int64_t SqliteDb::Changes() const { return sqlite3_changes64(db_); }

Result<Transaction> Transaction::Begin(SqliteDb& db, Durability durability) {
  if (durability == Durability::kRelaxed) RETURN_IF_ERROR(db.Exec("PRAGMA synchronous=NORMAL"));
  Status s = db.Exec("BEGIN IMMEDIATE");
  if (!s.ok()) {
    if (durability == Durability::kRelaxed) (void)db.Exec("PRAGMA synchronous=FULL");
    return s;
  }
  return Transaction(&db, durability);
}

Transaction::Transaction(Transaction&& o) noexcept
    : db_(o.db_), durability_(o.durability_), open_(std::exchange(o.open_, false)) {}

Transaction::~Transaction() { Rollback(); }

void Transaction::End() {
  open_ = false;
  if (durability_ == Durability::kRelaxed) (void)db_->Exec("PRAGMA synchronous=FULL");
}

Status Transaction::Commit() {
  if (!open_) return Status::InvalidArgument("commit of a transaction that is not open");
  Status s = db_->Exec("COMMIT");
  if (!s.ok()) {
    Rollback();
    return s;
  }
  End();
  return Status::OK();
}

void Transaction::Rollback() {
  if (!open_) return;
  (void)db_->Exec("ROLLBACK");
  End();
}

}  // namespace bucketd
