// bucketd's trail from the outside (issue 3's fixed interface): every object
// change in a bucket appears as one record in a gzip'd {"Records":[…]} file
// under AWSLogs/ in the trail bucket within 2 s, and changes made while the
// daemon was down are recorded once when it starts.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "events/trail_publisher.h"
#include "tests/test_util.h"

namespace bucketd {
namespace {

using testing::TempDir;

class TrailDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Ctl({"mb", "s3://data"}).exit_code, 0); }
  void TearDown() override { Stop(); }
  testing::RunResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {testing::BinDir() + "/bucketctl", "--root", root_});
    return testing::Run(args);
  }
  void Start() {
    pid_ = testing::Spawn({testing::BinDir() + "/bucketd", "--root", root_});
    // Ready once the trail bucket exists and the catch-up is done: poll the trail.
    for (int i = 0; i < 500 && !testing::Exists(root_ + "/buckets/bucketd-trail"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      EXPECT_EQ(testing::Wait(pid_), 0);
      pid_ = -1;
    }
  }
  // Every record in every sealed trail file.
  std::vector<nlohmann::json> SealedRecords() {
    std::vector<nlohmann::json> out;
    auto ls = Ctl({"ls", "--recursive", "--json", "s3://bucketd-trail/"});
    if (ls.exit_code != 0 || ls.out.empty()) return out;
    for (const auto& o : nlohmann::json::parse(ls.out)) {
      std::string key = o["Key"];
      EXPECT_NE(key.find("AWSLogs/"), std::string::npos) << key;
      auto gz = Ctl({"cat", "s3://bucketd-trail/" + key});
      auto text = events::Gunzip(gz.out);
      EXPECT_TRUE(text.ok()) << key;
      if (!text.ok()) continue;
      nlohmann::json file = nlohmann::json::parse(*text);
      for (const auto& r : file["Records"]) out.push_back(r);
    }
    return out;
  }
  size_t WaitForRecords(size_t n, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t got = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      got = SealedRecords().size();
      if (got >= n) return got;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return got;
  }

  TempDir tmp_;
  std::string root_ = tmp_ / "root";
  int pid_ = -1;
};

TEST_F(TrailDaemonTest, DroppedFileIsInASealedTrailFileWithinTwoSeconds) {
  Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto t0 = std::chrono::steady_clock::now();
  testing::WriteFile(root_ + "/buckets/data/dropped.csv", "a,b\n");
  size_t got = WaitForRecords(1, 5000);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(got, 1u) << Ctl({"events", "tail"}).out;
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
  auto rec = SealedRecords()[0];
  EXPECT_EQ(rec["eventName"], "PutObject");
  EXPECT_EQ(rec["requestParameters"]["bucketName"], "data");
  EXPECT_EQ(rec["requestParameters"]["key"], "dropped.csv");
  auto tail = Ctl({"events", "tail"});
  EXPECT_NE(tail.out.find("PutObject    s3://data/dropped.csv 4"), std::string::npos) << tail.out;
}

TEST_F(TrailDaemonTest, ChangesWhileStoppedAreRecordedOnceAtRestart) {
  Start();
  ::mkdir((root_ + "/buckets/data/w").c_str(), 0755);
  for (int i = 0; i < 500; ++i) testing::WriteFile(root_ + "/buckets/data/w/" + std::to_string(i), "1");
  ASSERT_EQ(WaitForRecords(500, 10000), 500u);
  Stop();
  for (int i = 0; i < 500; ++i) testing::WriteFile(root_ + "/buckets/data/w/" + std::to_string(i), "22");
  for (int i = 0; i < 500; ++i) testing::WriteFile(root_ + "/buckets/data/w/n" + std::to_string(i), "3");
  Start();
  EXPECT_EQ(WaitForRecords(1500, 10000), 1500u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(SealedRecords().size(), 1500u);
  auto lookup = nlohmann::json::parse(Ctl({"events", "lookup", "--key", "w/7"}).out);
  ASSERT_EQ(lookup["Events"].size(), 2u);  // the first write and the one made while stopped
  auto newest = nlohmann::json::parse(lookup["Events"][0]["CloudTrailEvent"].get<std::string>());
  EXPECT_EQ(newest["additionalEventData"]["bytesTransferredIn"], 2);
}

}  // namespace
}  // namespace bucketd
