// The insights page in a real browser: headless Chromium (Debian's chromium)
// loads it from disk, offline; its rendered DOM holds the charts, and a
// screenshot is saved under the build directory for a person to look at.
#include <sys/stat.h>

#include <filesystem>

#include "stages/etl.h"
#include "stages/extract.h"
#include "stages/insights.h"
#include "tests/stages/stage_fixture.h"

namespace bucketd::stages {
namespace {

namespace fs = std::filesystem;

TEST_F(StageTest, TheInsightsPageRendersItsChartsInHeadlessChromium) {
  Generate(1500, 1, "zip");
  for (const auto& f : fs::directory_iterator(tmp_ / "gen/out/UKLTD_M_20240101")) {
    std::string key = "DATA/RAW_DATA/UKLTD_M_20240101/" + f.path().filename().string();
    ASSERT_TRUE(store_->PutObjectFromFile(kBucket, key, f.path().string()).ok());
    auto ctx = Context({{"bucket", kBucket}, {"key", key}});
    ASSERT_TRUE(ExtractStage(ctx).ok());
  }
  auto etl = Context({{"bucket", kBucket}, {"key", "LOGS_FTP_EXECUTION/LOG_UKLTD_M_20240101.json"}});
  etl.config_dir = std::string(BUCKETD_SOURCE_DIR) + "/etc/seed";
  Status s = EtlStage(etl);
  ASSERT_TRUE(s.ok()) << s.message();
  auto insights = Context({{"bucket", kBucket}, {"key", "LOGS_QUERY_EXECUTION/logs_tables_20240101.json"}});
  s = InsightsStage(insights);
  ASSERT_TRUE(s.ok()) << s.message();
  std::string html = Get("NOTEBOOKS_WORKFLOW/OUTPUT/insights_20240101.html");
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "an external asset";
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);

  std::string page = tmp_ / "insights.html";
  testing::WriteFile(page, html);
  std::string shot = testing::BinDir() + "/../insights_screenshot.png";
  ::unlink(shot.c_str());
  std::vector<std::string> common = {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                     "--no-first-run", "--user-data-dir=" + tmp_ / "chromium-profile",
                                     "--window-size=1280,6000"};
  auto dom_args = common;
  dom_args.insert(dom_args.end(), {"--dump-dom", "file://" + page});
  auto dom = testing::Run(dom_args);
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  // The DOM the browser built: the charts are there, with their bars.
  size_t charts = 0;
  for (size_t p = dom.out.find("<svg class=\"chart"); p != std::string::npos; p = dom.out.find("<svg class=\"chart", p + 1)) {
    ++charts;
  }
  EXPECT_GE(charts, 20u) << dom.out.substr(0, 2000);
  EXPECT_NE(dom.out.find("class=\"chart histogram\""), std::string::npos);
  EXPECT_NE(dom.out.find("<rect"), std::string::npos);
  EXPECT_NE(dom.out.find("DEBTOR_DAYS"), std::string::npos);

  auto shot_args = common;
  shot_args.insert(shot_args.end(), {"--screenshot=" + shot, "file://" + page});
  auto r = testing::Run(shot_args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(::stat(shot.c_str(), &st), 0) << "no screenshot: " << r.err;
  EXPECT_GT(st.st_size, 20000) << "the screenshot is (nearly) blank";
  std::printf("screenshot: %s (%lld bytes), %zu charts\n", shot.c_str(), static_cast<long long>(st.st_size), charts);
}

}  // namespace
}  // namespace bucketd::stages
