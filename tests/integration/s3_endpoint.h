// A bucketd serving the S3 endpoint on a free loopback port, IAM users made
// with bucketctl, and the trail records its writes produce: the fixture of
// the endpoint's tests (real clients, policies, hostile requests).
#ifndef BUCKETD_TESTS_INTEGRATION_S3_ENDPOINT_H_
#define BUCKETD_TESTS_INTEGRATION_S3_ENDPOINT_H_

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/pipeline_daemon.h"
#include "tests/test_util.h"

namespace bucketd::testing {

struct AccessKeyPair {
  std::string user;
  std::string id;
  std::string secret;
  std::string token;  // temporary credentials' session token
};

class S3EndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<PipelineDaemon>(tmp_.path());
    ::mkdir((tmp_.path() + "/home").c_str(), 0700);
    admin_ = CreateUser("alice", "arn:aws:iam::aws:policy/AdministratorAccess");
    StartDaemon();
  }

  // `flags` are added to bucketd's; `env` ("K=V …") to its environment.
  void StartDaemon(const std::string& flags = "", const std::string& env = "") {
    daemon_->Start("--config-dir " + daemon_->cfg() + " --api-listen 127.0.0.1:0 " + flags, env);
    ASSERT_TRUE(daemon_->WaitReady()) << daemon_->Log();
    std::string log = daemon_->Log();
    size_t at = log.rfind("AWS API endpoint on ");
    ASSERT_NE(at, std::string::npos) << log;
    endpoint_ = log.substr(at + 20, log.find('\n', at) - at - 20);
    host_port_ = endpoint_.substr(endpoint_.find("://") + 3);
    port_ = std::stoi(host_port_.substr(host_port_.rfind(':') + 1));
  }

  // A user with a managed policy (ARN) or an inline one (JSON text), and a key.
  AccessKeyPair CreateUser(const std::string& name, const std::string& policy) {
    RunResult made = Ctl({"iam", "create-user", "--user-name", name});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    if (policy.rfind("arn:", 0) == 0) {
      RunResult a = Ctl({"iam", "attach-user-policy", "--user-name", name, "--policy-arn", policy});
      EXPECT_EQ(a.exit_code, 0) << a.err;
    } else {
      WriteFile(tmp_.path() + "/" + name + "-policy.json", policy);
      RunResult p = Ctl({"iam", "put-user-policy", "--user-name", name, "--policy-name", "inline",
                         "--policy-document", "file://" + tmp_.path() + "/" + name + "-policy.json"});
      EXPECT_EQ(p.exit_code, 0) << p.err;
    }
    RunResult key = Ctl({"iam", "create-access-key", "--user-name", name});
    EXPECT_EQ(key.exit_code, 0) << key.err;
    auto j = nlohmann::json::parse(key.out, nullptr, false);
    if (j.is_discarded()) return {};
    return {name, j["AccessKey"]["AccessKeyId"], j["AccessKey"]["SecretAccessKey"], ""};
  }

  RunResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {BinDir() + "/bucketctl", "--config-dir", daemon_->cfg(), "--root", daemon_->root()});
    return bucketd::testing::Run(args);
  }

  // The environment a client runs with: only this key, no profile of the
  // machine's, region and endpoint as a user would set them.
  std::vector<std::string> ClientEnv(const AccessKeyPair& k, bool endpoint_env = true) const {
    std::vector<std::string> env = {"AWS_ACCESS_KEY_ID=" + k.id, "AWS_SECRET_ACCESS_KEY=" + k.secret,
                                    "AWS_DEFAULT_REGION=us-east-1", "HOME=" + tmp_.path() + "/home",
                                    "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
                                    "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER="};
    if (endpoint_env) env.push_back("AWS_ENDPOINT_URL=" + endpoint_);
    if (!k.token.empty()) env.push_back("AWS_SESSION_TOKEN=" + k.token);
    return env;
  }

  // Files of 0 B, 1 B, 5 MiB and `big` bytes (multipart for every client).
  std::string MakeData(uint64_t big = 64ull << 20) {
    std::string dir = tmp_.path() + "/data";
    ::mkdir(dir.c_str(), 0755);
    std::mt19937_64 rng(42);
    auto bytes = [&](size_t n) {
      std::string s(n, '\0');
      for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rng();
        for (size_t k = 0; k < 8 && i + k < n; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
      }
      return s;
    };
    WriteFile(dir + "/a-empty", "");
    WriteFile(dir + "/b-one", "x");
    WriteFile(dir + "/c-5mib", bytes(5 << 20));
    WriteFile(dir + "/d-big", bytes(big));
    return dir;
  }

  // The trail's records for `bucket`, waiting (up to 20 s) until `done` holds.
  std::vector<nlohmann::json> Records(const std::string& bucket,
                                      const std::function<bool(const std::vector<nlohmann::json>&)>& done) {
    std::vector<nlohmann::json> out;
    PipelineDaemon::WaitFor(
        [&] {
          out.clear();
          RunResult r = Ctl({"events", "tail", "--bucket", bucket, "--json"});
          size_t start = 0;
          while (start < r.out.size()) {
            size_t nl = r.out.find('\n', start);
            auto j = nlohmann::json::parse(r.out.substr(start, nl - start), nullptr, false);
            if (!j.is_discarded()) out.push_back(j);
            if (nl == std::string::npos) break;
            start = nl + 1;
          }
          return done(out);
        },
        20000);
    return out;
  }
  std::vector<nlohmann::json> Records(const std::string& bucket, size_t n = 0) {
    return Records(bucket, [n](const std::vector<nlohmann::json>& r) { return r.size() >= n; });
  }
  // A record of a change (not of a call that changed nothing: a read, a
  // refused write).
  static bool IsChange(const nlohmann::json& r) { return !r.contains("errorCode") && r["readOnly"] == false; }
  static bool HasRecord(const std::vector<nlohmann::json>& records, const std::string& key, bool deleted) {
    for (const auto& r : records) {
      if (IsChange(r) && r["requestParameters"]["key"] == key && (r["eventName"] == "DeleteObject") == deleted) {
        return true;
      }
    }
    return false;
  }

  // Every key of `keys` has exactly one write record, made by `k`.
  void ExpectOneWriteRecordEach(const std::string& bucket, const std::vector<std::string>& keys,
                                const AccessKeyPair& k, const nlohmann::json& request_ids = nullptr) {
    Records(bucket, [&](const std::vector<nlohmann::json>& r) {
      return std::all_of(keys.begin(), keys.end(), [&](const std::string& k) { return HasRecord(r, k, false); });
    });
    // A second record of the same write (the watcher's) would follow soon.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    auto records = Records(bucket, 0);
    for (const std::string& key : keys) {
      int writes = 0;
      for (const auto& r : records) {
        if (r["requestParameters"]["key"] != key || !IsChange(r)) continue;
        std::string name = r["eventName"];
        if (name == "DeleteObject" || name.ends_with("Tagging")) continue;
        ++writes;
        EXPECT_EQ(r["userIdentity"]["type"], "IAMUser") << r.dump();
        EXPECT_EQ(r["userIdentity"]["userName"], k.user) << r.dump();
        EXPECT_EQ(r["userIdentity"]["accessKeyId"], k.id) << r.dump();
        EXPECT_EQ(r["sourceIPAddress"], "127.0.0.1") << r.dump();
        EXPECT_TRUE(name == "PutObject" || name == "CompleteMultipartUpload" || name == "CopyObject") << name;
        if (request_ids.is_object() && request_ids.contains(key) && request_ids[key].is_string()) {
          EXPECT_EQ(r["requestID"], request_ids[key]) << key;
        }
      }
      EXPECT_EQ(writes, 1) << "key " << key << " in " << bucket << ": " << nlohmann::json(records).dump();
    }
  }

  TempDir tmp_;
  std::unique_ptr<PipelineDaemon> daemon_;
  AccessKeyPair admin_;
  std::string host_port_, endpoint_;
  int port_ = 0;
};

inline std::string S3TestScript(const std::string& name) { return std::string(BUCKETD_SOURCE_DIR) + "/tests/integration/s3/" + name; }

}  // namespace bucketd::testing

#endif  // BUCKETD_TESTS_INTEGRATION_S3_ENDPOINT_H_
