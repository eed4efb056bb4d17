// The S3 endpoint against the real clients its users have: boto3 in both
// versions on the machine, the aws CLI in both versions, s3cmd, rclone and
// the JavaScript SDK. Each uploads objects of 0 B, 1 B, 5 MiB and 64 MiB
// (multipart), reads them back byte for byte, and every write must leave
// exactly one trail record naming the user and key that made it.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/integration/s3_endpoint.h"

namespace bucketd::testing {
namespace {

const std::vector<std::string> kKeys = {"in/a-empty", "in/b-one", "in/c-5mib", "in/d-big"};
// What cli_roundtrip.sh reads back of its tags: cond's two (in key order),
// tagged's from x-amz-tagging, then cond's count after DeleteObjectTagging.
const char kTagsSeen[] = "stage\traw\nteam\trisk\na\t1\nb\tx y\n0\n";

// The machine's newer python3 (pyenv, boto3 1.43) is the one on the PATH.
std::string PathPython() { return "/usr/bin/env"; }

class S3ClientsTest : public S3EndpointTest {
 protected:
  // A client that prints {"requests": {key: request id}, "deleted", "delete_request"}.
  void CheckJsonClient(const std::vector<std::string>& argv, const std::string& bucket,
                       const std::vector<std::string>& env) {
    RunResult r = bucketd::testing::Run(argv, "", env);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->Log();
    auto out = nlohmann::json::parse(r.out.substr(r.out.find('{')), nullptr, false);
    ASSERT_FALSE(out.is_discarded()) << r.out;
    ExpectOneWriteRecordEach(bucket, kKeys, admin_, out["requests"]);
    // The delete is one DeleteObject record with the call's request id.
    auto records = Records(bucket, [&](const std::vector<nlohmann::json>& r) { return HasRecord(r, out["deleted"], true); });
    int deletes = 0;
    for (const auto& rec : records) {
      if (rec["eventName"] != "DeleteObject") continue;
      ++deletes;
      EXPECT_EQ(rec["requestParameters"]["key"], out["deleted"]);
      EXPECT_EQ(rec["requestID"], out["delete_request"]);
      EXPECT_EQ(rec["userIdentity"]["accessKeyId"], admin_.id);
    }
    EXPECT_EQ(deletes, 1);
  }

  // The tagging calls are in the trail as calls (they make no new version).
  void ExpectTaggingRecords(const std::string& bucket) {
    auto records = Records(bucket, [](const std::vector<nlohmann::json>& r) {
      return std::count_if(r.begin(), r.end(), [](const nlohmann::json& j) {
               return j["eventName"].get<std::string>().ends_with("ObjectTagging");
             }) >= 2;
    });
    std::vector<std::string> names;
    for (const auto& rec : records) {
      std::string name = rec["eventName"];
      if (!name.ends_with("ObjectTagging")) continue;
      names.push_back(name + " " + rec["requestParameters"]["key"].get<std::string>());
      EXPECT_EQ(rec["readOnly"], false) << rec.dump();
      EXPECT_EQ(rec["userIdentity"]["userName"], admin_.user) << rec.dump();
    }
    EXPECT_EQ(names, (std::vector<std::string>{"PutObjectTagging cond", "DeleteObjectTagging cond"}));
  }
};

TEST_F(S3ClientsTest, DebianBoto3RoundTripsEverySizeWithOneRecordPerWrite) {
  std::string data = MakeData();
  // botocore 1.29 predates AWS_ENDPOINT_URL: the script passes endpoint_url.
  CheckJsonClient({"/usr/bin/python3", S3TestScript("boto3_roundtrip.py"), endpoint_, "deb-boto3", data},
                  "deb-boto3", ClientEnv(admin_, false));
  ExpectOneWriteRecordEach("deb-boto3", {"mp/copied"}, admin_);
}

TEST_F(S3ClientsTest, NewerBoto3WithDefaultCrc32ChecksumsRoundTrips) {
  std::string data = MakeData();
  CheckJsonClient({PathPython(), "python3", S3TestScript("boto3_roundtrip.py"), endpoint_, "new-boto3", data},
                  "new-boto3", ClientEnv(admin_));
  // boto3 >= 1.36 sends a CRC32 with every upload: it was verified and kept.
  RunResult head = bucketd::testing::Run({PathPython(), "aws", "s3api", "head-object", "--bucket", "new-boto3", "--key", "in/c-5mib",
                        "--checksum-mode", "ENABLED"},
                       "", ClientEnv(admin_));
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_NE(head.out.find("\"ChecksumCRC32\""), std::string::npos) << head.out;
}

// https with a certificate and key from $CREDENTIALS_DIRECTORY (bucketd in
// the foreground, as under systemd's LoadCredential=). Over TLS boto3 sends
// every upload as STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer.
TEST_F(S3ClientsTest, NewerBoto3OverHttpsSendsUnsignedPayloadTrailers) {
  std::string creds = tmp_.path() + "/creds";
  ::mkdir(creds.c_str(), 0700);
  RunResult cert = bucketd::testing::Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                          "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                                          "-keyout", creds + "/api.key", "-out", creds + "/api.crt"});
  ASSERT_EQ(cert.exit_code, 0) << cert.err;
  ASSERT_EQ(::chmod((creds + "/api.key").c_str(), 0644), 0);
  ASSERT_EQ(daemon_->Stop(), 0);
  // A key others may read is refused, naming it.
  RunResult refused = bucketd::testing::Run({BinDir() + "/bucketd", "--root", daemon_->root(), "--config-dir",
                                             daemon_->cfg(), "--api-listen", "127.0.0.1:0", "--api-tls"},
                                            "", {"CREDENTIALS_DIRECTORY=" + creds});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find(creds + "/api.key: the TLS key may be read by others (mode 644)"), std::string::npos)
      << refused.err;
  ASSERT_EQ(::chmod((creds + "/api.key").c_str(), 0600), 0);
  StartDaemon("--api-tls", "CREDENTIALS_DIRECTORY=" + creds);
  ASSERT_EQ(endpoint_.rfind("https://127.0.0.1:", 0), 0u) << endpoint_;
  std::string data = MakeData(24ull << 20);
  std::vector<std::string> env = ClientEnv(admin_);
  env.push_back("AWS_CA_BUNDLE=" + creds + "/api.crt");
  CheckJsonClient({PathPython(), "python3", S3TestScript("boto3_roundtrip.py"), endpoint_, "tls-boto3", data}, "tls-boto3",
                  env);
  RunResult head = bucketd::testing::Run({PathPython(), "aws", "s3api", "head-object", "--bucket", "tls-boto3", "--key",
                                          "in/c-5mib", "--checksum-mode", "ENABLED"},
                                         "", env);
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_NE(head.out.find("\"ChecksumCRC32\""), std::string::npos) << head.out;
  // Plain http on the https port gets no HTTP answer at all.
  RunResult plain = bucketd::testing::Run({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                           "http://" + host_port_ + "/"});
  EXPECT_EQ(plain.out, "000") << plain.out;
  EXPECT_NE(daemon_->Log().find("AWS API endpoint on https://"), std::string::npos);
  // The records say how the call came, as CloudTrail's tlsDetails do.
  for (const auto& rec : Records("tls-boto3", 0)) {
    EXPECT_EQ(rec["tlsDetails"]["tlsVersion"].get<std::string>().rfind("TLSv1.", 0), 0u) << rec.dump();
    EXPECT_EQ(rec["tlsDetails"]["clientProvidedHostHeader"], host_port_) << rec.dump();
  }
}

TEST_F(S3ClientsTest, AwsCliV1OnThePathWithOnlyAwsEndpointUrl) {
  std::string data = MakeData();
  std::string work = tmp_.path() + "/work";
  ::mkdir(work.c_str(), 0755);
  // `aws` here is the script's argument: the CLI's own name, found on the PATH.
  RunResult r = bucketd::testing::Run({S3TestScript("cli_roundtrip.sh"), "aws", endpoint_, "cli-v1", data, work}, "", ClientEnv(admin_));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->Log();
  // cond and cond-copy: each its one "null" version.
  EXPECT_EQ(ReadFile(work + "/versions"), "null\tnull\n");
  EXPECT_EQ(ReadFile(work + "/tags"), kTagsSeen);
  ExpectTaggingRecords("cli-v1");
  ExpectOneWriteRecordEach("cli-v1", {"in/a-empty", "in/b-one", "in/c-5mib", "in/d-big", "tree/a.txt", "tree/sub/b.txt",
                                      "cond", "tagged"},
                           admin_);
}

TEST_F(S3ClientsTest, DebianAwsCliV2WithEndpointUrlFlag) {
  std::string data = MakeData();
  std::string work = tmp_.path() + "/work";
  ::mkdir(work.c_str(), 0755);
  RunResult r = bucketd::testing::Run({S3TestScript("cli_roundtrip.sh"), "/usr/bin/aws", endpoint_, "cli-v2", data, work}, "",
                    ClientEnv(admin_, false));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->Log();
  EXPECT_EQ(ReadFile(work + "/tags"), kTagsSeen);
  ExpectTaggingRecords("cli-v2");
  ExpectOneWriteRecordEach("cli-v2", {"in/a-empty", "in/b-one", "in/c-5mib", "in/d-big", "cond", "tagged"}, admin_);
}

TEST_F(S3ClientsTest, S3cmdRoundTrips) {
  std::string data = MakeData();
  std::string work = tmp_.path() + "/work";
  ::mkdir(work.c_str(), 0755);
  RunResult r = bucketd::testing::Run({S3TestScript("tools_roundtrip.sh"), "s3cmd", host_port_, admin_.id, admin_.secret, "s3cmd", data,
                     work},
                    "", ClientEnv(admin_, false));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->Log();
  ExpectOneWriteRecordEach("s3cmd", kKeys, admin_);
}

TEST_F(S3ClientsTest, RcloneRoundTrips) {
  std::string data = MakeData();
  std::string work = tmp_.path() + "/work";
  ::mkdir(work.c_str(), 0755);
  RunResult r = bucketd::testing::Run({S3TestScript("tools_roundtrip.sh"), "rclone", host_port_, admin_.id, admin_.secret, "rclone", data,
                     work},
                    "", ClientEnv(admin_, false));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->Log();
  ExpectOneWriteRecordEach("rclone", kKeys, admin_);
}

TEST_F(S3ClientsTest, JavaScriptSdkSendsAwsChunkedTrailersOverPlainHttp) {
  std::string data = MakeData();
  std::string modules = S3TestScript("node_modules");
  ASSERT_TRUE(Exists(modules + "/@aws-sdk/client-s3")) << "scripts/bootstrap.sh installs it with npm";
  std::vector<std::string> env = ClientEnv(admin_);
  env.push_back("NODE_NO_WARNINGS=1");
  CheckJsonClient({"/usr/bin/node", S3TestScript("node_roundtrip.mjs"), endpoint_, "js-sdk", data}, "js-sdk", env);
  // Stored as sent: not the aws-chunked framing, and no aws-chunked encoding.
  RunResult head = bucketd::testing::Run({PathPython(), "aws", "s3api", "head-object", "--bucket", "js-sdk", "--key", "in/b-one"}, "",
                       ClientEnv(admin_));
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_NE(head.out.find("\"ContentLength\": 1"), std::string::npos) << head.out;
  EXPECT_EQ(head.out.find("aws-chunked"), std::string::npos) << head.out;
}

}  // namespace
}  // namespace bucketd::testing
