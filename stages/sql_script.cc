#include "stages/sql_script.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace bucketd::stages {
namespace {

// Skips blanks and -- comments: where the next statement really starts.
size_t StatementStart(const std::string& sql, size_t at) {
  while (at < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[at]))) {
      ++at;
    } else if (sql.compare(at, 2, "--") == 0) {
      size_t nl = sql.find('\n', at);
      at = nl == std::string::npos ? sql.size() : nl + 1;
    } else {
      break;
    }
  }
  return at;
}

// Appends one field as CSV to `out`: what SQLite holds as text as it is
// (quoted only where RFC 4180 needs it), numbers formatted straight into the
// buffer — reals as printf's "%.10g" would (std::to_chars with a precision
// is specified as exactly that), without a string per field.
void AppendCsvField(sqlite3_stmt* st, int col, std::string& out) {
  char num[32];
  switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
      return;
    case SQLITE_INTEGER: {
      auto r = std::to_chars(num, num + sizeof num, sqlite3_column_int64(st, col));
      out.append(num, r.ptr);
      return;
    }
    case SQLITE_FLOAT: {
      auto r = std::to_chars(num, num + sizeof num, sqlite3_column_double(st, col), std::chars_format::general, 10);
      out.append(num, r.ptr);
      return;
    }
    default: {
      const char* t = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
      std::string_view v(t ? t : "");
      if (v.find_first_of(",\"\n\r") == std::string_view::npos) {
        out.append(v);
        return;
      }
      out += '"';
      for (char c : v) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
  }
}

class CsvSource : public store::ByteSource {
 public:
  CsvSource(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {
    int n = sqlite3_column_count(st_);
    for (int i = 0; i < n; ++i) pending_ += std::string(i ? "," : "") + sqlite3_column_name(st_, i);
    pending_ += "\n";
  }
  Result<size_t> Read(char* buf, size_t n) override {
    while (pending_.size() - offset_ < n && !done_) {
      int rc = sqlite3_step(st_);
      if (rc == SQLITE_DONE) {
        done_ = true;
        break;
      }
      if (rc != SQLITE_ROW) return Status::IOError(std::string("exporting: ") + sqlite3_errmsg(db_));
      int cols = sqlite3_column_count(st_);
      for (int i = 0; i < cols; ++i) {
        if (i) pending_ += ',';
        AppendCsvField(st_, i, pending_);
      }
      pending_ += '\n';
      ++rows_;
    }
    size_t take = std::min(n, pending_.size() - offset_);
    std::memcpy(buf, pending_.data() + offset_, take);
    offset_ += take;
    if (offset_ == pending_.size()) {
      pending_.clear();
      offset_ = 0;
    }
    return take;
  }
  uint64_t rows() const { return rows_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_;
  std::string pending_;
  size_t offset_ = 0;
  bool done_ = false;
  uint64_t rows_ = 0;
};

}  // namespace

Result<std::vector<StatementRun>> RunSqlScript(SqliteDb& db, const std::string& name, const std::string& sql) {
  std::vector<StatementRun> runs;
  size_t at = 0;
  for (;;) {
    at = StatementStart(sql, at);
    if (at >= sql.size()) break;
    int line = 1 + static_cast<int>(std::count(sql.begin(), sql.begin() + static_cast<long>(at), '\n'));
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    auto started = std::chrono::steady_clock::now();
    int rc = sqlite3_prepare_v2(db.handle(), sql.c_str() + at, static_cast<int>(sql.size() - at), &st, &tail);
    if (rc != SQLITE_OK) {
      return Status::InvalidArgument(name + ":" + std::to_string(line) + ": " + sqlite3_errmsg(db.handle()));
    }
    size_t next = static_cast<size_t>(tail - sql.c_str());
    if (st == nullptr) {  // only a comment was left
      at = next;
      continue;
    }
    int64_t before = sqlite3_total_changes64(db.handle());
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    std::string error = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db.handle());
    sqlite3_finalize(st);
    if (!error.empty()) return Status::InvalidArgument(name + ":" + std::to_string(line) + ": " + error);
    StatementRun r;
    r.file = name;
    r.line = line;
    std::string text = sql.substr(at, next - at);
    r.head = text.substr(0, text.find('\n'));
    r.rows = sqlite3_total_changes64(db.handle()) - before;
    // CREATE TABLE … AS SELECT changes no rows in SQLite's count: count them.
    char table[128];
    if (std::sscanf(r.head.c_str(), "CREATE TABLE %127[A-Za-z0-9_] AS", table) == 1 ||
        std::sscanf(r.head.c_str(), "create table %127[A-Za-z0-9_] as", table) == 1) {
      auto count = db.Prepare(std::string("SELECT COUNT(*) FROM ") + table);
      if (count.ok() && count->Step().ok()) r.rows = count->ColumnInt(0);
    }
    r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    runs.push_back(std::move(r));
    at = next;
  }
  return runs;
}

Result<uint64_t> ExportCsv(SqliteDb& db, const std::string& select, store::Store& store, const std::string& bucket,
                           const std::string& key, const store::PutOptions& put) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db.handle(), select.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return Status::InvalidArgument("export to " + key + ": " + sqlite3_errmsg(db.handle()));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
  CsvSource source(db.handle(), st);
  RETURN_IF_ERROR(store.PutObject(bucket, key, source, put).status());
  return source.rows();
}

}  // namespace bucketd::stages
