// The fetch stage against a real OpenSSH server on 127.0.0.1.
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "stages/fetch.h"
#include "tests/stages/sshd_server.h"
#include "tests/stages/stage_fixture.h"

namespace bucketd::stages {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FetchTest : public StageTest {
 protected:
  void SetUp() override {
    StageTest::SetUp();
    fs::create_directories(tmp_ / "sshd");
    server_ = std::make_unique<testing::SshdServer>(tmp_ / "sshd");
    Generate(600, 3, "rar");
    fs::create_directories(tmp_ / "remote");
    Serve("UKLTD_M_20240101");
    Serve("UKLTD_M_20240201");
    testing::WriteFile(tmp_ / "known_hosts", server_->KnownHostsLine());
  }
  void Serve(const std::string& delivery) {
    fs::copy(tmp_ / "gen/out/" + delivery, tmp_ / "remote/" + delivery, fs::copy_options::recursive);
  }
  json Input(json extra = json::object()) {
    json in = {{"host", "127.0.0.1"},       {"port", server_->port()},         {"user", server_->user()},
               {"remote_dir", tmp_ / "remote"}, {"known_hosts", tmp_ / "known_hosts"},
               {"key_file", server_->client_key()}, {"retries", 0}};
    for (auto& [k, v] : extra.items()) in[k] = v;
    return in;
  }
  Result<FetchSummary> Fetch(const json& in, const std::atomic<bool>* cancel = nullptr,
                             std::function<void(const std::string&, uint64_t, uint64_t)> progress = {}) {
    ASSIGN_OR_RETURN(FetchRequest r, ParseFetchRequest(Env::Default().fs(), in, creds_));
    ASSIGN_OR_RETURN(SftpSecret secret, LoadFetchSecret(Env::Default().fs(), r, creds_));
    FetchHooks hooks;
    hooks.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> l(mu_);
      logs_.push_back(line);
    };
    hooks.progress = std::move(progress);
    hooks.cancelled = cancel;
    return RunFetch(r, secret, *store_, tmp_ / "state", hooks);
  }
  // Every archive under the bucket's RAW_DATA has the remote file's bytes.
  void ExpectSameAsRemote(const std::string& delivery, size_t files = 11) {
    auto keys = Keys("DATA/RAW_DATA/" + delivery + "/");
    ASSERT_EQ(keys.size(), files) << delivery;
    for (const auto& k : keys) {
      std::string name = k.substr(k.find_last_of('/') + 1);
      EXPECT_EQ(Get(k), testing::ReadFile(tmp_ / "remote/" + delivery + "/" + name)) << k;
    }
  }

  std::unique_ptr<testing::SshdServer> server_;
  std::string creds_;
};

TEST_F(FetchTest, AStockFetchTakesEverythingAndLaterOnlyNewMonthsAreFetched) {
  ASSERT_TRUE(server_->Start()) << server_->error();
  auto r = Fetch(Input({{"stock", "TRUE"}}));
  ASSERT_TRUE(r.ok()) << r.status().message() << Logs();
  EXPECT_EQ(r->fetched, 22);
  ExpectSameAsRemote("UKLTD_M_20240101");
  ExpectSameAsRemote("UKLTD_M_20240201");
  auto before = store_->HeadObject(kBucket, "DATA/RAW_DATA/UKLTD_M_20240201/AC01_M_20240201.rar");

  Serve("UKLTD_M_20240301");  // next month's delivery appears on the server
  r = Fetch(Input({{"stock", "FALSE"}}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->deliveries, 1);
  EXPECT_EQ(r->fetched, 11);
  ExpectSameAsRemote("UKLTD_M_20240301");
  EXPECT_EQ(store_->HeadObject(kBucket, "DATA/RAW_DATA/UKLTD_M_20240201/AC01_M_20240201.rar")->last_modified,
            before->last_modified) << "an old delivery was fetched again";

  r = Fetch(Input({{"stock", "FALSE"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->fetched, 0);
  r = Fetch(Input({{"stock", "TRUE"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->fetched, 0);
  EXPECT_EQ(r->present, 33) << "what is there with the remote size is not fetched again";

  // An empty bucket prefix with stock FALSE takes only the newest delivery.
  r = Fetch(Input({{"stock", "FALSE"}, {"prefix", "FRESH/"}}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Keys("FRESH/").size(), 11u);
  EXPECT_EQ(Keys("FRESH/UKLTD_M_20240301/").size(), 11u);
  EXPECT_TRUE(testing::ListDir(tmp_ / "state/fetch/partial/UKLTD_M_20240101").empty());
}

TEST_F(FetchTest, AnInterruptedDownloadWaitsInTheStateDirAndResumesWhereItStopped) {
  ASSERT_TRUE(server_->Start()) << server_->error();
  std::string remote = tmp_ / "remote/UKLTD_M_20240101/AC01_M_20240101.rar";
  uint64_t size = fs::file_size(remote);
  ASSERT_GT(size, 200000u);
  std::atomic<bool> cancel{false};
  auto r = Fetch(Input({{"stock", "TRUE"}}), &cancel, [&](const std::string& name, uint64_t done, uint64_t) {
    if (name == "AC01_M_20240101.rar" && done > 100000) cancel = true;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().message();
  std::string partial = tmp_ / "state/fetch/partial/UKLTD_M_20240101/AC01_M_20240101.rar.part";
  ASSERT_TRUE(testing::Exists(partial));
  uint64_t kept = fs::file_size(partial);
  EXPECT_GT(kept, 100000u);
  EXPECT_LT(kept, size);
  EXPECT_FALSE(Has("DATA/RAW_DATA/UKLTD_M_20240101/AC01_M_20240101.rar")) << "a partial download is visible";
  EXPECT_TRUE(testing::ListDir(tmp_ / "root/.staging").empty());

  cancel = false;
  uint64_t first_progress = 0;
  r = Fetch(Input({{"stock", "TRUE"}}), &cancel, [&](const std::string& name, uint64_t done, uint64_t) {
    if (name == "AC01_M_20240101.rar" && first_progress == 0) first_progress = done;
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(first_progress, kept) << "the second run started over";
  EXPECT_NE(Logs().find("AC01_M_20240101.rar: resuming at byte " + std::to_string(kept) + " of " +
                        std::to_string(size)),
            std::string::npos) << Logs();
  EXPECT_EQ(Get("DATA/RAW_DATA/UKLTD_M_20240101/AC01_M_20240101.rar"), testing::ReadFile(remote));
  EXPECT_FALSE(testing::Exists(partial));
}

TEST_F(FetchTest, AnUnknownOrChangedHostKeyIsRefusedNamingTheServersFingerprint) {
  ASSERT_TRUE(server_->Start()) << server_->error();
  testing::SshdServer::MakeKey(tmp_ / "other_host_key");
  testing::WriteFile(tmp_ / "known_hosts", "[127.0.0.1]:" + std::to_string(server_->port()) + " " +
                                               testing::ReadFile(tmp_ / "other_host_key.pub"));
  auto r = Fetch(Input({{"retries", 3}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  std::string fp = server_->HostFingerprint();
  EXPECT_NE(r.status().message().find("the host key of 127.0.0.1:" + std::to_string(server_->port()) +
                                      " has CHANGED: the server offers ssh-ed25519 " + fp),
            std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("attempts"), std::string::npos) << "a host key failure was retried";

  testing::WriteFile(tmp_ / "known_hosts", "");
  r = Fetch(Input());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("(ssh-ed25519 " + fp + ") is not in " + tmp_ / "known_hosts"),
            std::string::npos) << r.status().message();
  EXPECT_TRUE(Keys("DATA/").empty());
}

TEST_F(FetchTest, WrongOrExposedCredentialsAreRefusedWithTheReason) {
  ASSERT_TRUE(server_->Start()) << server_->error();
  testing::SshdServer::MakeKey(tmp_ / "stranger_key");
  auto r = Fetch(Input({{"key_file", tmp_ / "stranger_key"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("refused the key from key file " + tmp_ / "stranger_key" +
                                      " (authentication failed)"),
            std::string::npos) << r.status().message();

  ::chmod((tmp_ / "stranger_key").c_str(), 0644);
  r = Fetch(Input({{"key_file", tmp_ / "stranger_key"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("has mode 0644"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("(chmod 600)"), std::string::npos);

  r = Fetch(Input({{"password", "hunter2"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("secrets do not belong in the target input"), std::string::npos);
  EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos) << "the secret was echoed";

  // A password from the credentials directory (the server takes keys only).
  creds_ = tmp_ / "creds";
  fs::create_directories(creds_);
  testing::WriteFile(creds_ + "/sftp", "hunter2\n");
  ::chmod((creds_ + "/sftp").c_str(), 0600);
  json in = Input();
  in.erase("key_file");
  r = Fetch(in);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("refused the password from credential " + creds_ + "/sftp"),
            std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("hunter2"), std::string::npos);
  EXPECT_TRUE(Keys("DATA/").empty());
}

TEST_F(FetchTest, TheStageReadsItsKeyFromTheCredentialsDirectory) {
  ASSERT_TRUE(server_->Start()) << server_->error();
  std::string creds = tmp_ / "creds";
  fs::create_directories(creds);
  fs::copy_file(server_->client_key(), creds + "/sftp");
  ::chmod((creds + "/sftp").c_str(), 0400);
  ::setenv("CREDENTIALS_DIRECTORY", creds.c_str(), 1);
  json in = Input({{"stock", "TRUE"}});
  in.erase("key_file");
  auto ctx = Context(in);
  Status s = FetchStage(ctx);
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ASSERT_TRUE(s.ok()) << s.message() << Logs();
  ExpectSameAsRemote("UKLTD_M_20240101");
  EXPECT_NE(Logs().find("fetched 22 files"), std::string::npos) << Logs();
  auto info = store_->HeadObject(kBucket, "DATA/RAW_DATA/UKLTD_M_20240101/CI01_M_20240101.rar");
  EXPECT_EQ(info->user_metadata["bucketd-chain"], "c:1") << "the archive does not carry the stage's chain";
}

TEST_F(FetchTest, AServerThatIsDownForAMomentIsRetried) {
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    ASSERT_TRUE(server_->Start()) << server_->error();
  });
  auto r = Fetch(Input({{"stock", "TRUE"}, {"retries", 6}, {"retry_delay_ms", 300}}));
  late.join();
  ASSERT_TRUE(r.ok()) << r.status().message() << Logs();
  EXPECT_EQ(r->fetched, 22);
  EXPECT_NE(Logs().find("cannot connect to " + server_->user() + "@127.0.0.1:" + std::to_string(server_->port())),
            std::string::npos) << Logs();
  EXPECT_NE(Logs().find("; retrying in 300 ms (1 of 6 retries)"), std::string::npos) << Logs();
}

TEST_F(FetchTest, BucketctlFetchRunsItByHandWithAProgressBarOnATerminal) {
  ASSERT_TRUE(server_->Start()) << server_->error();
  // A delivery big enough (> 4 MiB) for the bar.
  fs::remove_all(tmp_ / "gen");
  Generate(15000, 1, "rar");
  fs::remove_all(tmp_ / "remote");
  fs::create_directories(tmp_ / "remote");
  Serve("UKLTD_M_20240101");
  json in = Input({{"stock", "TRUE"}});
  in.erase("key_file");
  testing::WriteFile(tmp_ / "fetch.json", in.dump());
  std::string cmd = testing::BinDir() + "/bucketctl --root " + tmp_ / "root" + " --state-dir " + tmp_ / "state" +
                    " fetch --input @" + tmp_ / "fetch.json" + " --key-file " + server_->client_key();
  // script(1) gives bucketctl a terminal, as a person at a shell has.
  auto r = testing::Run({"/usr/bin/script", "-qec", cmd, "/dev/null"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("AC01_M_20240101.rar"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\r["), std::string::npos) << "no progress bar:\n" << r.out;
  EXPECT_NE(r.out.find("fetched 11 files"), std::string::npos) << r.out;
  ExpectSameAsRemote("UKLTD_M_20240101");
}

}  // namespace
}  // namespace bucketd::stages
