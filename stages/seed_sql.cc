#include "stages/seed_sql.h"

#include <sqlite3.h>

#include <cctype>
#include <sstream>
#include <vector>

namespace bucketd::stages {

std::string NormaliseLender(std::string_view name) {
  std::string spaced;
  for (unsigned char c : name) {
    if (c == '&') {
      spaced += " AND ";
    } else if (c == '.') {
      continue;
    } else if (std::isalnum(c) || c >= 0x80) {
      spaced += static_cast<char>(std::toupper(c));
    } else {
      spaced += ' ';
    }
  }
  std::istringstream words(spaced);
  std::vector<std::string> out;
  for (std::string w; words >> w;) out.push_back(w == "LTD" ? "LIMITED" : w);
  if (!out.empty() && out.front() == "THE") out.erase(out.begin());
  std::string joined;
  for (const auto& w : out) joined += (joined.empty() ? "" : " ") + w;
  return joined;
}

uint64_t Fnv1a64(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

double FnvFraction(std::string_view text) {
  return static_cast<double>(Fnv1a64(text)) / 18446744073709551616.0;  // 2^64
}

namespace {

std::string_view TextArg(sqlite3_value* v) {
  const unsigned char* t = sqlite3_value_text(v);
  return t ? std::string_view(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_value_bytes(v)))
           : std::string_view();
}

void NormaliseLenderSql(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  std::string out = NormaliseLender(TextArg(argv[0]));
  sqlite3_result_text(ctx, out.data(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

void FnvFractionSql(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(ctx);
  sqlite3_result_double(ctx, FnvFraction(TextArg(argv[0])));
}

}  // namespace

Status RegisterSeedSqlFunctions(sqlite3* db) {
  int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
  if (sqlite3_create_function(db, "normalise_lender", 1, flags, nullptr, NormaliseLenderSql, nullptr, nullptr) !=
          SQLITE_OK ||
      sqlite3_create_function(db, "fnv_fraction", 1, flags, nullptr, FnvFractionSql, nullptr, nullptr) != SQLITE_OK) {
    return Status::IOError(std::string("cannot register SQL functions: ") + sqlite3_errmsg(db));
  }
  return Status::OK();
}

}  // namespace bucketd::stages
