// Outside text made safe for terminals and log lines.
#include "common/text.h"

#include <gtest/gtest.h>

namespace bucketd {
namespace {

TEST(PrintableTextTest, PlainNamesAndUtf8AreKept) {
  EXPECT_EQ(PrintableText("LOGS/2026-11/report.csv"), "LOGS/2026-11/report.csv");
  EXPECT_EQ(PrintableText("données/été.csv"), "données/été.csv");
}

TEST(PrintableTextTest, ControlCharactersInvalidUtf8AndBackslashesAreEscaped) {
  // A crafted name that would print as a second, forged trail line.
  EXPECT_EQ(PrintableText("a\n2026-12-01T00:00:00Z DeleteObject s3://data/k"),
            "a\\n2026-12-01T00:00:00Z DeleteObject s3://data/k");
  EXPECT_EQ(PrintableText("x\x1b[2Ky"), "x\\e[2Ky");
  EXPECT_EQ(PrintableText("tab\there\r"), "tab\\there\\r");
  EXPECT_EQ(PrintableText(std::string("nul\0!", 5)), "nul\\x00!");
  EXPECT_EQ(PrintableText("del\x7f"), "del\\x7f");
  EXPECT_EQ(PrintableText("a\xff"), "a\\xff");
  EXPECT_EQ(PrintableText("\xc3"), "\\xc3") << "a sequence cut short";
  EXPECT_EQ(PrintableText("\xc2\x9b" "2J"), "\\xc2\\x9b2J") << "C1 CSI";
  EXPECT_EQ(PrintableText("back\\slash"), "back\\\\slash") << "so an escape cannot be faked either";
}

}  // namespace
}  // namespace bucketd
