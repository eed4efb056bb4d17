// Runs a file of SQL statements one by one, timing each; an error names the
// file and the line where the failing statement starts, with SQLite's message.
#ifndef BUCKETD_STAGES_SQL_SCRIPT_H_
#define BUCKETD_STAGES_SQL_SCRIPT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/sqlite_db.h"
#include "common/status.h"
#include "store/store.h"

namespace bucketd::stages {

struct StatementRun {
  std::string file;
  int line = 0;
  std::string head;      // the statement's first line
  int64_t rows = 0;      // rows changed (INSERT/UPDATE/DELETE) or created (CREATE TABLE … AS)
  int64_t duration_ms = 0;
};

// `name` is how errors and the log refer to the file.
Result<std::vector<StatementRun>> RunSqlScript(SqliteDb& db, const std::string& name, const std::string& sql);

// Streams `select`'s rows into the store as CSV (header row, comma-separated,
// RFC 4180 quoting where needed); returns the number of rows.
Result<uint64_t> ExportCsv(SqliteDb& db, const std::string& select, store::Store& store, const std::string& bucket,
                           const std::string& key, const store::PutOptions& put);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_SQL_SCRIPT_H_
