#include "stages/sql_script.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "tests/stages/stage_fixture.h"

namespace bucketd::stages {
namespace {

class ExportCsvTest : public StageTest {};

std::string Printf10g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// The CSV that users' notebooks read must not change with how it is
// formatted: reals exactly as printf's %.10g, text as SQLite holds it.
TEST_F(ExportCsvTest, FieldsComeOutAsPrintfAndRfc4180WouldWriteThem) {
  auto db = std::move(SqliteDb::Open(tmp_ / "x.db", false)).value();
  ASSERT_TRUE(db->Exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT)").ok());
  // (no -0.0: SQLite stores it as 0)
  std::vector<double> reals{0.0, 1.0, -1.5, 0.1 + 0.2, 1.0 / 3, 2.0 / 3, 1e-5, 1.5e-300, 123456789012.0,
                            1e10, 9999999999.5, 1e21, -2.5e-7, 365.0 * 17 / 11,
                            std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min()};
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(-1, 1);
  for (int k = 0; k < 2000; ++k) reals.push_back(unit(rng) * std::pow(10.0, static_cast<int>(rng() % 40) - 20));
  std::vector<int64_t> ints{0, -1, 42, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  std::vector<std::string> texts{"plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", "", "ünïcode"};
  std::string expected = "i,r,s\n";
  {
    ASSERT_TRUE(db->Exec("BEGIN").ok());
    auto ins = std::move(db->Prepare("INSERT INTO t VALUES (?, ?, ?)")).value();
    for (size_t k = 0; k < reals.size(); ++k) {
      ins.Reset();
      int64_t i = ints[k % ints.size()];
      const std::string& s = texts[k % texts.size()];
      ASSERT_TRUE(ins.Bind(1, i).Bind(2, reals[k]).Bind(3, std::string_view(s)).Run().ok());
      std::string quoted = s;
      if (s.find_first_of(",\"\n\r") != std::string::npos) {
        quoted = "\"";
        for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        quoted += "\"";
      }
      expected += std::to_string(i) + "," + Printf10g(reals[k]) + "," + quoted + "\n";
    }
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (NULL, NULL, NULL)").ok());
    expected += ",,\n";
    ASSERT_TRUE(db->Exec("COMMIT").ok());
  }
  Result<uint64_t> rows = ExportCsv(*db, "SELECT * FROM t", *store_, kBucket, "t.csv", {});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, reals.size() + 1);
  std::string got = Get("t.csv");
  // Line by line, so a difference names its row.
  size_t at = 0, line = 1;
  while (at < expected.size()) {
    size_t end = expected.find('\n', at);
    if (expected.compare(at, end - at, got, at, end - at) != 0) {
      ADD_FAILURE() << "line " << line << ": expected " << expected.substr(at, end - at) << ", got "
                    << got.substr(at, got.find('\n', at) - at);
      break;
    }
    at = end + 1;
    ++line;
  }
  EXPECT_EQ(got.size(), expected.size());
}

TEST_F(ExportCsvTest, ABadSelectNamesTheKeyAndWritesNothing) {
  auto db = std::move(SqliteDb::Open(tmp_ / "y.db", false)).value();
  Result<uint64_t> rows = ExportCsv(*db, "SELECT * FROM missing", *store_, kBucket, "out/m.csv", {});
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().message().find("out/m.csv"), std::string::npos);
  EXPECT_NE(rows.status().message().find("missing"), std::string::npos);
  EXPECT_FALSE(Has("out/m.csv"));
}

}  // namespace
}  // namespace bucketd::stages
