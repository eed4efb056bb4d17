// The first steps of the seed workflow through a real bucketd with the
// shipped configuration (etc/seed): an SFTP fetch from a real sshd puts the
// archives, the extract rule unpacks each, and each complete delivery gets
// its marker.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/integration/pipeline_daemon.h"
#include "tests/stages/sshd_server.h"

namespace bucketd {
namespace {

namespace fs = std::filesystem;
using testing::PipelineDaemon;

TEST(SeedFetchExtractTest, AFetchedDeliveryIsExtractedAndAnnouncedByTheShippedRules) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  for (const char* sub : {"functions.d", "rules.d"}) {
    for (const auto& f : fs::directory_iterator(std::string(BUCKETD_SOURCE_DIR) + "/etc/seed/" + sub)) {
      fs::copy_file(f.path(), d.cfg() + "/" + sub + "/" + f.path().filename().string());
    }
  }
  fs::create_directories(tmp / "sshd");
  testing::SshdServer server(tmp / "sshd");
  ASSERT_TRUE(server.Start()) << server.error();
  auto gen = testing::Run({testing::BinDir() + "/bucketgen", "--out", tmp / "gen", "--companies", "400",
                           "--months", "2", "--seed", "5", "--format", "rar"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  testing::WriteFile(tmp / "known_hosts", server.KnownHostsLine());
  // Fetch on demand: an object under TRIGGER/ starts it (the shipped
  // schedule points at the bureau's server).
  nlohmann::json input = {{"host", "127.0.0.1"},
                          {"port", server.port()},
                          {"user", server.user()},
                          {"remote_dir", tmp / "gen/out"},
                          {"stock", "TRUE"},
                          {"known_hosts", tmp / "known_hosts"},
                          {"key_file", server.client_key()}};
  nlohmann::json rule = {
      {"Name", "fetch-now"},
      {"EventPattern",
       {{"detail-type", {"Object Created"}},
        {"detail", {{"bucket", {{"name", {"creditsafedata"}}}}, {"object", {{"key", {{{"prefix", "TRIGGER/"}}}}}}}}}},
      {"Targets", {{{"Id", "fetch"}, {"Arn", "arn:aws:lambda:local:000000000000:function:fetch"}, {"Input", input.dump()}}}}};
  testing::WriteFile(d.cfg() + "/rules.d/fetch-now.json", rule.dump());

  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  ASSERT_EQ(d.Ctl({"mb", "s3://creditsafedata"}).exit_code, 0);
  testing::WriteFile(tmp / "go", "");
  auto cp = d.Ctl({"cp", tmp / "go", "s3://creditsafedata/TRIGGER/go"});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;

  std::string bucket = d.root() + "/buckets/creditsafedata/";
  for (std::string stamp : {"20240101", "20240201"}) {
    std::string marker = bucket + "LOGS_FTP_EXECUTION/LOG_UKLTD_M_" + stamp + ".json";
    ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return testing::Exists(marker); }, 60000)) << d.Log();
    auto m = nlohmann::json::parse(testing::ReadFile(marker));
    EXPECT_EQ(m["tables"].size(), 11u);
    std::string ci01 = "CI01_M_" + stamp + ".txt";
    auto want = testing::Run({"/usr/bin/bsdtar", "-xOf", tmp / "gen/out/UKLTD_M_" + stamp + "/CI01_M_" + stamp + ".rar"});
    EXPECT_EQ(testing::ReadFile(bucket + "DATA/UNZIP_DATA/UKLTD_M_" + stamp + "/CI01/" + ci01), want.out);
    EXPECT_EQ(testing::ReadFile(bucket + "DATA/UNZIP_DATA_APPEND_ALL/CI01/" + ci01), want.out);
  }
  // 22 archives, each extracted once; the fetch ran once.
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    auto runs = d.Ctl({"runs", "--state", "succeeded", "--json"});
    return PipelineDaemon::Count(runs.out, "\"function\":\"extract\"") == 22;
  })) << d.Ctl({"runs"}).out << d.Log();
  auto runs = d.Ctl({"runs", "--json"});
  EXPECT_EQ(PipelineDaemon::Count(runs.out, "\"function\":\"fetch\""), 1) << runs.out;
  EXPECT_EQ(PipelineDaemon::Count(runs.out, "\"state\":\"dead\""), 0) << runs.out;
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace bucketd
