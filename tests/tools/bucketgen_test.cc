// bucketgen's promises that other parts rely on: the same arguments give the
// same bytes; the layout of the fixed interface; every way the generator
// writes a lender's name normalises to a name on the shipped list.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "stages/delivery.h"
#include "stages/feature_table.h"
#include "stages/seed_sql.h"
#include "tests/test_util.h"

namespace bucketd {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> Tree(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = testing::ReadFile(e.path().string());
  }
  return files;
}

testing::RunResult Gen(const std::string& out, const std::string& format, const std::string& seed = "9") {
  return testing::Run({testing::BinDir() + "/bucketgen", "--out", out, "--companies", "400", "--months", "2", "--seed",
                       seed, "--format", format});
}

TEST(BucketgenTest, TheSameArgumentsGiveTheSameBytesInEveryFormat) {
  testing::TempDir tmp;
  for (std::string format : {"rar", "rar4", "zip", "7z", "tar.gz"}) {
    ASSERT_EQ(Gen(tmp / "a", format).exit_code, 0);
    ASSERT_EQ(Gen(tmp / "b", format).exit_code, 0);
    auto a = Tree(tmp / "a"), b = Tree(tmp / "b");
    EXPECT_EQ(a.size(), 2u * 11 + 2) << format << ": 22 archives, ground truth, summary";
    EXPECT_TRUE(a == b) << format << ": two runs differ";
    ASSERT_EQ(Gen(tmp / "c", format, "10").exit_code, 0);
    EXPECT_NE(Tree(tmp / "c")["out/UKLTD_M_20240101/AC01_M_20240101." + std::string(format == "rar4" ? "rar" : format)],
              a["out/UKLTD_M_20240101/AC01_M_20240101." + std::string(format == "rar4" ? "rar" : format)])
        << "another seed gave the same data";
  }
  // The fixed layout: every table of DATA.md, in every delivery; the truth outside out/.
  for (const auto& t : stages::DeliveryTables()) {
    EXPECT_TRUE(testing::Exists(tmp / "a/out/UKLTD_M_20240201/" + t.name + "_M_20240201.tar.gz")) << t.name;
  }
  EXPECT_TRUE(testing::Exists(tmp / "a/ground_truth.csv"));
  EXPECT_EQ(testing::ReadFile(tmp / "a/ground_truth.csv").rfind("REGNUMBER,ACCOUNTSDATE,PROBABILITY\n", 0), 0u);
}

TEST(BucketgenTest, EveryLenderSpellingNormalisesToTheShippedList) {
  testing::TempDir tmp;
  ASSERT_EQ(testing::Run({testing::BinDir() + "/bucketgen", "--out", tmp / "g", "--companies", "3000", "--months", "1",
                          "--format", "tar.gz"}).exit_code, 0);
  auto mr02 = testing::Run({"/usr/bin/bsdtar", "-xOf", tmp / "g/out/UKLTD_M_20240101/MR02_M_20240101.tar.gz"});
  ASSERT_EQ(mr02.exit_code, 0);
  std::set<std::string> listed;
  std::ifstream list(std::string(BUCKETD_SOURCE_DIR) + "/etc/seed/sql/person_entitled_adjusted.csv");
  std::string line;
  std::getline(list, line);
  while (std::getline(list, line)) listed.insert(stages::SplitCsvLine(line)[0]);
  std::set<std::string> spellings, unknown;
  std::istringstream rows(mr02.out);
  std::getline(rows, line);  // header
  while (std::getline(rows, line)) {
    std::string name = line.substr(line.find('|') + 1);
    spellings.insert(name);
    if (!listed.count(stages::NormaliseLender(name))) unknown.insert(name);
  }
  EXPECT_GT(spellings.size(), 20u) << "the generator writes lenders several ways";
  EXPECT_TRUE(unknown.empty()) << *unknown.begin() << " normalises to " << stages::NormaliseLender(*unknown.begin());
  EXPECT_EQ(stages::NormaliseLender("Hsbc Invoice Finance (Uk) Ltd"), "HSBC INVOICE FINANCE UK LIMITED");
  EXPECT_EQ(stages::NormaliseLender("H.S.B.C. INVOICE FINANCE (UK) LTD"), "HSBC INVOICE FINANCE UK LIMITED");
  EXPECT_EQ(stages::NormaliseLender("The Skipton  Business Finance Ltd"), "SKIPTON BUSINESS FINANCE LIMITED");
  EXPECT_EQ(stages::NormaliseLender("Investec Asset Finance & Invoice Discounting Ltd"),
            "INVESTEC ASSET FINANCE AND INVOICE DISCOUNTING LIMITED");
}

}  // namespace
}  // namespace bucketd
