#include "stages/delivery_loader.h"

#include <charconv>
#include <fstream>
#include <functional>
#include <vector>

namespace bucketd::stages {
namespace {

bool IsIntegerColumn(const std::string& table, size_t col) {
  if (table == "AC01") return col >= 3;
  if (table == "AC06") return col >= 2;
  if (table == "CI01") return col == 7;  // EMPLOYEES
  return false;
}

std::vector<std::string> KeyColumns(const std::string& table) {
  if (table == "CI01") return {"REGNUMBER"};
  if (table == "AC01" || table == "AC06") return {"REGNUMBER", "ACCOUNTSDATE"};
  if (table == "MR01") return {"CHARGEID"};
  if (table == "MR02") return {};
  return {"CODE"};
}

// Hands the object's bytes on line by line (without the '\n').
class LineSink : public store::ByteSink {
 public:
  explicit LineSink(std::function<Status(std::string_view)> on_line) : on_line_(std::move(on_line)) {}
  Status Write(std::string_view data) override {
    while (!data.empty()) {
      size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(data);
        return Status::OK();
      }
      if (partial_.empty()) {
        RETURN_IF_ERROR(on_line_(data.substr(0, nl)));
      } else {
        partial_.append(data.substr(0, nl));
        RETURN_IF_ERROR(on_line_(partial_));
        partial_.clear();
      }
      data.remove_prefix(nl + 1);
    }
    return Status::OK();
  }
  Status Finish() { return partial_.empty() ? Status::OK() : on_line_(partial_); }

 private:
  std::function<Status(std::string_view)> on_line_;
  std::string partial_;
};

std::vector<std::string_view> Split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = line.find(sep, start);
    out.push_back(line.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

std::string Joined(const std::vector<std::string>& cols, const char* sep) {
  std::string out;
  for (const auto& c : cols) out += (out.empty() ? "" : sep) + c;
  return out;
}

}  // namespace

Status CreateDeliveryTables(SqliteDb& db) {
  for (const auto& t : DeliveryTables()) {
    std::string sql = "CREATE TABLE " + t.name + " (";
    for (size_t i = 0; i < t.columns.size(); ++i) {
      sql += (i ? ", " : "") + t.columns[i] + (IsIntegerColumn(t.name, i) ? " INTEGER" : " TEXT");
    }
    auto keys = KeyColumns(t.name);
    if (keys.empty()) sql += ", DELIVERY INTEGER";
    if (!keys.empty()) sql += ", PRIMARY KEY (" + Joined(keys, ", ") + ")";
    // Stored in key order: the window over a company's sheets reads them in
    // order, without a sort or a second index.
    sql += keys.empty() ? ")" : ") WITHOUT ROWID";
    RETURN_IF_ERROR(db.Exec(sql));
    if (keys.empty()) RETURN_IF_ERROR(db.Exec("CREATE INDEX " + t.name + "_CHARGEID ON " + t.name + " (CHARGEID)"));
  }
  return Status::OK();
}

Result<uint64_t> LoadDeliveryFile(SqliteDb& db, store::Store& store, const std::string& bucket,
                                  const std::string& key, const TableSpec& t, int delivery) {
  const bool replaces_group = KeyColumns(t.name).empty();  // MR02
  std::string insert = "INSERT OR REPLACE INTO " + t.name + " (" + Joined(t.columns, ", ") +
                       (replaces_group ? ", DELIVERY" : "") + ") VALUES (";
  for (size_t i = 0; i < t.columns.size() + (replaces_group ? 1 : 0); ++i) insert += i ? ", ?" : "?";
  insert += ")";
  ASSIGN_OR_RETURN(SqliteStatement ins, db.Prepare(insert));
  std::optional<SqliteStatement> drop;
  if (replaces_group) {
    ASSIGN_OR_RETURN(SqliteStatement d, db.Prepare("DELETE FROM " + t.name + " WHERE CHARGEID = ? AND DELIVERY < ?"));
    drop.emplace(std::move(d));
  }
  const std::string header = Joined(t.columns, "|");
  uint64_t line_no = 0, rows = 0;
  LineSink sink([&](std::string_view line) -> Status {
    ++line_no;
    auto where = [&] { return key + ": line " + std::to_string(line_no); };
    if (line_no == 1) {
      if (line != header) {
        return Status::InvalidArgument(where() + ": expected the header \"" + header + "\", found \"" +
                                       std::string(line.substr(0, 200)) + "\"");
      }
      return Status::OK();
    }
    if (line.empty()) return Status::OK();
    auto fields = Split(line, '|');
    if (fields.size() != t.columns.size()) {
      return Status::InvalidArgument(where() + ": expected " + std::to_string(t.columns.size()) + " fields separated by '|', found " +
                                     std::to_string(fields.size()));
    }
    ins.Reset();
    for (size_t i = 0; i < fields.size(); ++i) {
      int col = static_cast<int>(i) + 1;
      if (fields[i].empty()) {
        ins.BindNull(col);
      } else if (IsIntegerColumn(t.name, i)) {
        int64_t v = 0;
        auto [end, ec] = std::from_chars(fields[i].data(), fields[i].data() + fields[i].size(), v);
        if (ec != std::errc() || end != fields[i].data() + fields[i].size()) {
          return Status::InvalidArgument(where() + ": column " + t.columns[i] + ": expected an integer, found \"" +
                                         std::string(fields[i].substr(0, 50)) + "\"");
        }
        ins.Bind(col, v);
      } else {
        ins.Bind(col, fields[i]);
      }
    }
    if (replaces_group) {
      drop->Reset();
      drop->Bind(1, fields[0]).Bind(2, static_cast<int64_t>(delivery));
      RETURN_IF_ERROR(drop->Run());
      ins.Bind(static_cast<int>(fields.size()) + 1, static_cast<int64_t>(delivery));
    }
    RETURN_IF_ERROR(ins.Run());
    ++rows;
    return Status::OK();
  });
  RETURN_IF_ERROR(store.GetObject(bucket, key, sink).status());
  RETURN_IF_ERROR(sink.Finish());
  if (line_no == 0) return Status::InvalidArgument(key + ": empty file; expected at least the header row");
  return rows;
}

Result<uint64_t> LoadReferenceCsv(SqliteDb& db, const std::string& table, const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("reference list " + path + ": cannot read it");
  std::string line;
  if (!std::getline(in, line)) return Status::InvalidArgument(path + ": empty; expected a header row");
  std::vector<std::string> cols;
  for (auto c : Split(line, ',')) cols.emplace_back(c);
  std::string create = "CREATE TABLE " + table + " (" + Joined(cols, " TEXT, ") + " TEXT)";
  RETURN_IF_ERROR(db.Exec(create));
  std::string insert = "INSERT INTO " + table + " VALUES (";
  for (size_t i = 0; i < cols.size(); ++i) insert += i ? ", ?" : "?";
  ASSIGN_OR_RETURN(SqliteStatement ins, db.Prepare(insert + ")"));
  uint64_t rows = 0, line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto fields = Split(line, ',');
    if (fields.size() != cols.size()) {
      return Status::InvalidArgument(path + ": line " + std::to_string(line_no) + ": expected " +
                                     std::to_string(cols.size()) + " comma-separated fields, found " +
                                     std::to_string(fields.size()));
    }
    ins.Reset();
    for (size_t i = 0; i < fields.size(); ++i) ins.Bind(static_cast<int>(i) + 1, fields[i]);
    RETURN_IF_ERROR(ins.Run());
    ++rows;
  }
  return rows;
}

}  // namespace bucketd::stages
