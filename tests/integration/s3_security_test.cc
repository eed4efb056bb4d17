// The S3 endpoint's guarantees against what is not a well-behaved client:
// signatures and clocks, IAM policies, hostile framing and paths, idle and
// slow connections; and where secrets never go.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <thread>

#include "tests/integration/s3_endpoint.h"

namespace bucketd::testing {
namespace {

class S3SecurityTest : public S3EndpointTest {
 protected:
  RunResult Aws(const AccessKeyPair& k, std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/env", "aws"});
    return bucketd::testing::Run(args, "", ClientEnv(k));
  }
  // A Python script (the machine's python3 and boto3) run with `k`.
  RunResult Python(const AccessKeyPair& k, const std::string& script) {
    return bucketd::testing::Run({"/usr/bin/env", "python3", "-c", script}, "", ClientEnv(k));
  }
  RunResult RawCheck(const std::string& check, const std::string& bucket) {
    return bucketd::testing::Run({"/usr/bin/env", "python3", S3TestScript("raw_s3.py"), check, "127.0.0.1",
                                  std::to_string(port_), bucket},
                                 "", ClientEnv(admin_));
  }
  int Connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
};

TEST_F(S3SecurityTest, SkewedClocksAreRefusedAndTolerableOnesAccepted) {
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://skew"}).exit_code, 0);
  RunResult r = RawCheck("skew", "skew");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok RequestTimeTooSkewed"), std::string::npos) << r.out;
}

TEST_F(S3SecurityTest, ExpectContinueComesAfterAuthenticationAndAnErrorLeavesTheConnectionUsable) {
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://expect"}).exit_code, 0);
  RunResult r = RawCheck("expect", "expect");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->Log();
  EXPECT_NE(r.out.find("ok the connection still serves the next request"), std::string::npos) << r.out;
}

TEST_F(S3SecurityTest, BrokenChunkFramingAndWrongDigestsAreS3ErrorsAndStoreNothing) {
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://chunked"}).exit_code, 0);
  RunResult r = RawCheck("chunked", "chunked");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->Log();
  EXPECT_NE(r.out.find("ok nothing of the refused uploads became visible"), std::string::npos) << r.out;
  // The daemon answers on; and the trail records each refused upload as a
  // failed call (its errorCode), never as an object.
  EXPECT_EQ(Aws(admin_, {"s3", "ls", "s3://chunked"}).exit_code, 0);
  auto records = Records("chunked", 0);
  EXPECT_FALSE(records.empty());
  for (const auto& rec : records) {
    EXPECT_TRUE(rec.contains("errorCode") && !IsChange(rec)) << rec.dump();
  }
}

TEST_F(S3SecurityTest, NoRequestNamesAPathOutsideItsBucket) {
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://walled"}).exit_code, 0);
  WriteFile(daemon_->root() + "/secret", "top secret");
  WriteFile(daemon_->root() + "/buckets/secret", "top secret");
  RunResult r = RawCheck("traversal", "walled");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(PipelineDaemon::Count(r.out, "ok "), 7) << r.out;
}

TEST_F(S3SecurityTest, ReadOnlyUserIsDeniedPutsAndTheDenialIsLogged) {
  AccessKeyPair reader = CreateUser("reader", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://readonly"}).exit_code, 0);
  WriteFile(tmp_.path() + "/f", "data");
  ASSERT_EQ(Aws(admin_, {"s3", "cp", tmp_.path() + "/f", "s3://readonly/f"}).exit_code, 0);
  RunResult put = Aws(reader, {"s3", "cp", tmp_.path() + "/f", "s3://readonly/g"});
  EXPECT_NE(put.exit_code, 0);
  EXPECT_NE(put.err.find("AccessDenied"), std::string::npos) << put.err;
  RunResult get = Aws(reader, {"s3", "cp", "s3://readonly/f", "-"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "data");
  EXPECT_NE(daemon_->Log().find("user/reader may not s3:PutObject on arn:aws:s3:::readonly/g (AccessDenied)"),
            std::string::npos)
      << daemon_->Log();
  ExpectOneWriteRecordEach("readonly", {"f"}, admin_);
  auto records = Records("readonly", [](const std::vector<nlohmann::json>& r) {
    return std::any_of(r.begin(), r.end(), [](const nlohmann::json& j) { return j.contains("errorCode"); });
  });
  EXPECT_FALSE(HasRecord(records, "g", false));
  // The refusal itself is in the trail, as CloudTrail records it.
  int denials = 0;
  for (const auto& r : records) {
    if (!r.contains("errorCode")) continue;
    ++denials;
    EXPECT_EQ(r["errorCode"], "AccessDenied") << r.dump();
    EXPECT_EQ(r["eventName"], "PutObject") << r.dump();
    EXPECT_EQ(r["requestParameters"]["key"], "g") << r.dump();
    EXPECT_EQ(r["userIdentity"]["userName"], "reader") << r.dump();
    EXPECT_EQ(r["readOnly"], false) << r.dump();
  }
  EXPECT_EQ(denials, 1) << nlohmann::json(records).dump();
}

// Reads are recorded only where <config-dir>/event-selectors.json asks, as
// records that take a sequence number, fire "AWS API Call via CloudTrail"
// rules and leave the object index alone.
TEST_F(S3SecurityTest, ReadEventsAreRecordedOnlyWhenTheEventSelectorsAskForThem) {
  daemon_->AddProbeFunction("OnRead", "stamp");
  WriteFile(daemon_->cfg() + "/rules.d/reads.json", R"({"Name": "reads", "EventPattern": {
      "source": ["aws.s3"], "detail-type": ["AWS API Call via CloudTrail"],
      "detail": {"eventName": ["GetObject"], "readOnly": [true]}},
      "Targets": [{"Id": "t", "Arn": "arn:aws:lambda:local:000000000000:function:OnRead",
                   "InputPath": "$.detail.requestParameters.key"}]})");
  ASSERT_EQ(::kill(daemon_->pid(), SIGHUP), 0);
  WriteFile(tmp_.path() + "/reads.py", R"(import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
phase = sys.argv[2]
if phase == "put":
    s3.create_bucket(Bucket="sel")
    for k in ["logs/a", "other/b"]:
        s3.put_object(Bucket="sel", Key=k, Body=b"12345")
for k in ["logs/a", "other/b"]:
    assert s3.get_object(Bucket="sel", Key=k)["Body"].read() == b"12345"
    s3.head_object(Bucket="sel", Key=k)
s3.list_objects_v2(Bucket="sel", Prefix="logs/")
print("ok", phase)
)");
  auto run = [&](const std::string& phase) {
    RunResult r = bucketd::testing::Run({"/usr/bin/env", "python3", tmp_.path() + "/reads.py", endpoint_, phase}, "",
                                        ClientEnv(admin_));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  };
  run("put");
  ExpectOneWriteRecordEach("sel", {"logs/a", "other/b"}, admin_);
  auto reads = [&] {
    std::vector<nlohmann::json> out;
    for (const auto& r : Records("sel", 0)) {
      if (r["readOnly"] == true) out.push_back(r);
    }
    return out;
  };
  EXPECT_TRUE(reads().empty()) << "no selectors: no read is recorded";
  WriteFile(daemon_->cfg() + "/event-selectors.json", R"([{"ReadWriteType": "ReadOnly",
      "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::sel/logs/"]}]}])");
  run("read");
  Records("sel", [](const std::vector<nlohmann::json>& r) {
    return std::count_if(r.begin(), r.end(), [](const nlohmann::json& j) { return j["readOnly"] == true; }) >= 3;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  std::map<std::string, int> seen;
  for (const auto& r : reads()) {
    EXPECT_EQ(r["userIdentity"]["userName"], "alice") << r.dump();
    EXPECT_FALSE(r.contains("errorCode")) << r.dump();
    std::string key = r["requestParameters"]["key"];
    seen[r["eventName"].get<std::string>() + " " + key]++;
    if (r["eventName"] == "GetObject") {
      EXPECT_EQ(r["additionalEventData"]["bytesTransferredOut"], 5) << r.dump();
    }
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"GetObject logs/a", 1}, {"HeadObject logs/a", 1},
                                              {"ListObjectsV2 ", 1}}))
      << nlohmann::json(reads()).dump();
  // The rule on the CloudTrail shape fired for the one selected GetObject.
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] { return Exists(daemon_->out() + "/\"logs_a\".stamp"); }, 20000))
      << daemon_->Log();
  EXPECT_EQ(ListDir(daemon_->out()).size(), 1u);
  // The index is as the writes left it: a restart's catch-up finds nothing
  // to record again.
  EXPECT_EQ(daemon_->Stop(), 0);
  StartDaemon();
  ExpectOneWriteRecordEach("sel", {"logs/a", "other/b"}, admin_);
}

// systemd socket activation with both sockets (systemd-socket-activate is
// systemd's own tool for it): the named Unix socket serves bucketctl, the
// named TCP one the endpoint, and the request that woke bucketd is answered.
TEST_F(S3SecurityTest, SocketActivationPassesTheControlAndTheEndpointSocketsByName) {
  ASSERT_EQ(daemon_->Stop(), 0);
  int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(probe);
  std::string port = std::to_string(ntohs(a.sin_port));
  std::string control = tmp_.path() + "/activated.sock";
  // `env`'s last word is the program it runs: the activator, which execs
  // bucketd with LISTEN_FDS=2 LISTEN_FDNAMES=control:api on the first connection.
  daemon_->Start("--config-dir " + daemon_->cfg() + " --api-listen 127.0.0.1:1",
                 "BUCKETD_UNUSED=1 /usr/bin/systemd-socket-activate -l " + control + " -l 127.0.0.1:" + port +
                     " --fdname=control:api");
  endpoint_ = "http://127.0.0.1:" + port;
  WriteFile(tmp_.path() + "/activated.py", R"(import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
s3.create_bucket(Bucket="activated")
s3.put_object(Bucket="activated", Key="k", Body=b"woken")
assert s3.get_object(Bucket="activated", Key="k")["Body"].read() == b"woken"
print("ok")
)");
  RunResult r = bucketd::testing::Run({"/usr/bin/env", "python3", tmp_.path() + "/activated.py", endpoint_}, "",
                                      ClientEnv(admin_));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->Log();
  ASSERT_TRUE(daemon_->WaitReady()) << daemon_->Log();
  EXPECT_NE(daemon_->Log().find("AWS API endpoint on http://127.0.0.1:" + port), std::string::npos) << daemon_->Log();
  EXPECT_NE(daemon_->Log().find("not listening on 127.0.0.1:1"), std::string::npos) << daemon_->Log();
  RunResult status = bucketd::testing::Run({BinDir() + "/bucketctl", "--socket", control, "status"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_NE(status.out.find("events recorded"), std::string::npos) << status.out;
  ExpectOneWriteRecordEach("activated", {"k"}, admin_);
}

TEST_F(S3SecurityTest, PrefixScopedPolicyWithAnS3PrefixConditionAllowsExactlyItsPrefix) {
  AccessKeyPair team = CreateUser("team-a", R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::shared/team-a/*"},
      {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::shared",
       "Condition": {"StringLike": {"s3:prefix": ["team-a/*"]}}}]})");
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://shared"}).exit_code, 0);
  WriteFile(tmp_.path() + "/f", "data");
  EXPECT_EQ(Aws(team, {"s3", "cp", tmp_.path() + "/f", "s3://shared/team-a/f"}).exit_code, 0);
  RunResult other = Aws(team, {"s3", "cp", tmp_.path() + "/f", "s3://shared/team-b/f"});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("AccessDenied"), std::string::npos) << other.err;
  RunResult mine = Aws(team, {"s3api", "list-objects-v2", "--bucket", "shared", "--prefix", "team-a/"});
  EXPECT_EQ(mine.exit_code, 0) << mine.err;
  EXPECT_NE(mine.out.find("team-a/f"), std::string::npos) << mine.out;
  RunResult theirs = Aws(team, {"s3api", "list-objects-v2", "--bucket", "shared", "--prefix", "team-b/"});
  EXPECT_NE(theirs.exit_code, 0);
  EXPECT_NE(theirs.err.find("AccessDenied"), std::string::npos) << theirs.err;
  RunResult all = Aws(team, {"s3api", "list-objects-v2", "--bucket", "shared"});
  EXPECT_NE(all.exit_code, 0) << "no s3:prefix in the request: the condition does not hold";
  ExpectOneWriteRecordEach("shared", {"team-a/f"}, team);
}

TEST_F(S3SecurityTest, IamChangesApplyToTheRunningBucketdAtOnce) {
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://iam"}).exit_code, 0);
  // A user made while bucketd runs can work at once...
  AccessKeyPair late = CreateUser("late", "arn:aws:iam::aws:policy/AmazonS3FullAccess");
  EXPECT_EQ(Aws(late, {"s3", "ls", "s3://iam"}).exit_code, 0);
  // ...and a deleted key stops working at once.
  ASSERT_EQ(Ctl({"iam", "delete-access-key", "--user-name", "late", "--access-key-id", late.id}).exit_code, 0);
  RunResult gone = Aws(late, {"s3", "ls", "s3://iam"});
  EXPECT_NE(gone.exit_code, 0);
  EXPECT_NE(gone.err.find("InvalidAccessKeyId"), std::string::npos) << gone.err;
  // The store keeps secrets from everyone but its owner.
  struct stat st;
  ASSERT_EQ(::stat((daemon_->cfg() + "/iam.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Temporary credentials: `aws sts get-session-token` on the same endpoint,
// then the key, secret and token as any SDK uses them; they act as their
// user, and end with their expiry or with the long-term key they came from.
TEST_F(S3SecurityTest, SessionTokensFromStsActAsTheirUserUntilTheirKeyIsGone) {
  AccessKeyPair bob = CreateUser("bob", "arn:aws:iam::aws:policy/AmazonS3FullAccess");
  ASSERT_EQ(Aws(bob, {"s3", "mb", "s3://sess"}).exit_code, 0);
  RunResult who = Aws(bob, {"sts", "get-caller-identity"});
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_EQ(nlohmann::json::parse(who.out)["Arn"], "arn:aws:iam::000000000000:user/bob");
  // The CLI checks the duration itself; bucketd too, for clients that do not.
  RunResult bad = Python(bob,
                         "import boto3\nfrom botocore.config import Config\n"
                         "sts = boto3.client('sts', config=Config(parameter_validation=False))\n"
                         "try:\n  sts.get_session_token(DurationSeconds=60)\n"
                         "except Exception as e:\n  print(e.response['Error']['Code'])\n");
  EXPECT_EQ(bad.out, "ValidationError\n") << bad.err;
  RunResult got = Aws(bob, {"sts", "get-session-token", "--duration-seconds", "900"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  auto creds = nlohmann::json::parse(got.out)["Credentials"];
  AccessKeyPair session{"bob", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]};
  EXPECT_EQ(session.id.rfind("ASIA", 0), 0u) << session.id;
  EXPECT_FALSE(std::string(creds["Expiration"]).empty());

  WriteFile(tmp_.path() + "/s.txt", "session bytes");
  ASSERT_EQ(Aws(session, {"s3", "cp", tmp_.path() + "/s.txt", "s3://sess/s.txt"}).exit_code, 0);
  RunResult cat = Aws(session, {"s3", "cp", "s3://sess/s.txt", "-"});
  EXPECT_EQ(cat.out, "session bytes") << cat.err;
  // Presigned with the token in the query: SigV2 (the CLI v1's default) and SigV4.
  RunResult presigned =
      Python(session,
             "import boto3, urllib.request\nfrom botocore.config import Config\n"
             "for v in ('s3', 's3v4'):\n"
             "  s3 = boto3.client('s3', config=Config(signature_version=v))\n"
             "  url = s3.generate_presigned_url('get_object', Params={'Bucket': 'sess', 'Key': 's.txt'})\n"
             "  assert 'ecurity' in url, url\n"
             "  print(urllib.request.urlopen(url).read().decode())\n");
  EXPECT_EQ(presigned.out, "session bytes\nsession bytes\n") << presigned.err;
  // Session credentials cannot make more of themselves, as in AWS.
  RunResult again = Aws(session, {"sts", "get-session-token"});
  EXPECT_NE(again.err.find("AccessDenied"), std::string::npos) << again.err;
  // A token not made by this bucketd, or for another key id.
  AccessKeyPair forged = session;
  forged.token = session.token.substr(0, session.token.size() - 1) + (session.token.back() == '0' ? "1" : "0");
  RunResult invalid = Aws(forged, {"s3", "ls", "s3://sess"});
  EXPECT_NE(invalid.err.find("InvalidToken"), std::string::npos) << invalid.err;
  AccessKeyPair no_token = session;
  no_token.token.clear();
  EXPECT_NE(Aws(no_token, {"s3", "ls", "s3://sess"}).err.find("InvalidAccessKeyId"), std::string::npos);

  // The write is the user's, made with the temporary key.
  auto records = Records("sess", [](const std::vector<nlohmann::json>& r) { return !r.empty(); });
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["userIdentity"]["userName"], "bob") << records.back().dump();
  EXPECT_EQ(records.back()["userIdentity"]["accessKeyId"], session.id) << records.back().dump();
  EXPECT_TRUE(records.back()["userIdentity"]["sessionContext"]["attributes"].contains("creationDate"))
      << records.back().dump();

  // Deleting the long-term key ends its sessions.
  ASSERT_EQ(Ctl({"iam", "delete-access-key", "--user-name", "bob", "--access-key-id", bob.id}).exit_code, 0);
  RunResult ended = Aws(session, {"s3", "ls", "s3://sess"});
  EXPECT_NE(ended.exit_code, 0);
  EXPECT_NE(ended.err.find("InvalidAccessKeyId"), std::string::npos) << ended.err;
}

TEST_F(S3SecurityTest, SecretKeysAppearNowhereButTheIamStore) {
  std::string data = MakeData(9 << 20);
  RunResult r = bucketd::testing::Run({"/usr/bin/env", "python3", S3TestScript("boto3_roundtrip.py"), endpoint_,
                                       "secrets", data},
                                      "", ClientEnv(admin_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A refused request logs its reason: still no secret.
  AccessKeyPair wrong = admin_;
  wrong.secret = "0000000000000000000000000000000000000000";
  EXPECT_NE(Aws(wrong, {"s3", "ls", "s3://secrets"}).exit_code, 0);
  ExpectOneWriteRecordEach("secrets", {"in/a-empty", "in/b-one"}, admin_);
  ASSERT_EQ(daemon_->Stop(), 0);  // the trail is sealed into the store on the way out
  RunResult grep = bucketd::testing::Run({"/bin/grep", "-rlaF", admin_.secret, daemon_->root(), daemon_->log_path()});
  EXPECT_EQ(grep.out, "") << "the secret key was written there";
  // The store itself does hold it (the test would prove nothing if grep could not find it).
  EXPECT_EQ(bucketd::testing::Run({"/bin/grep", "-c", admin_.secret, daemon_->cfg() + "/iam.json"}).out, "1\n");
}

TEST_F(S3SecurityTest, RangedGetsCarryNoFullObjectChecksum) {
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://ranges"}).exit_code, 0);
  WriteFile(tmp_.path() + "/f", std::string(100000, 'r'));
  ASSERT_EQ(Aws(admin_, {"s3api", "put-object", "--bucket", "ranges", "--key", "f", "--body", tmp_.path() + "/f",
                         "--checksum-algorithm", "SHA256"})
                .exit_code,
            0);
  RunResult whole = Aws(admin_, {"s3api", "get-object", "--bucket", "ranges", "--key", "f", "--checksum-mode",
                                 "ENABLED", tmp_.path() + "/whole"});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_NE(whole.out.find("\"ChecksumSHA256\""), std::string::npos) << whole.out;
  RunResult part = Aws(admin_, {"s3api", "get-object", "--bucket", "ranges", "--key", "f", "--checksum-mode",
                                "ENABLED", "--range", "bytes=10-19", tmp_.path() + "/part"});
  ASSERT_EQ(part.exit_code, 0) << part.err;
  EXPECT_EQ(part.out.find("\"Checksum"), std::string::npos) << part.out;
  EXPECT_NE(part.out.find("\"ContentRange\": \"bytes 10-19/100000\""), std::string::npos) << part.out;
  EXPECT_EQ(ReadFile(tmp_.path() + "/part"), std::string(10, 'r'));
}

TEST_F(S3SecurityTest, IdleAndSlowConnectionsDoNotStallOtherClients) {
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://busy"}).exit_code, 0);
  struct rlimit rl;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 4096);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &rl), 0);
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    int fd = Connect();
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  // A slowloris: a header that never ends, a byte at a time.
  int slow = Connect();
  ASSERT_GE(slow, 0);
  std::atomic<bool> stop{false};
  std::thread loris([&] {
    std::string head = "GET /busy/ HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (size_t i = 0; !stop && i < 400; ++i) {
      char c = i < head.size() ? head[i] : 'a';
      if (::send(slow, &c, 1, MSG_NOSIGNAL) != 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  // A header beyond the limit is refused with 431.
  int big = Connect();
  ASSERT_GE(big, 0);
  std::string huge = "GET /busy/ HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 << 10, 'b') + "\r\n\r\n";
  (void)::send(big, huge.data(), huge.size(), MSG_NOSIGNAL);
  char buf[256] = {};
  ssize_t n = ::recv(big, buf, sizeof(buf) - 1, 0);
  EXPECT_GT(n, 0);
  EXPECT_EQ(std::string(buf).rfind("HTTP/1.1 431", 0), 0u) << buf;
  ::close(big);
  // Meanwhile a real client is served, each request well within its timeout.
  WriteFile(tmp_.path() + "/f", "still served");
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    RunResult put = Aws(admin_, {"--cli-read-timeout", "5", "--cli-connect-timeout", "5", "s3", "cp",
                                 tmp_.path() + "/f", "s3://busy/f" + std::to_string(i)});
    EXPECT_EQ(put.exit_code, 0) << put.err;
  }
  RunResult get = Aws(admin_, {"--cli-read-timeout", "5", "s3", "cp", "s3://busy/f4", "-"});
  EXPECT_EQ(get.out, "still served");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(30)) << "six CLI runs took " << std::chrono::duration_cast<std::chrono::seconds>(took).count() << " s";
  stop = true;
  loris.join();
  ::close(slow);
  for (int fd : idle) ::close(fd);
}

TEST_F(S3SecurityTest, VirtualHostedAddressingNamesTheBucketInTheHost) {
  ASSERT_EQ(Aws(admin_, {"s3", "mb", "s3://vhost-bucket"}).exit_code, 0);
  // bucket.localhost resolves nowhere here: a private mount namespace gets
  // an /etc/hosts that says where it is.
  WriteFile(tmp_.path() + "/hosts", "127.0.0.1 localhost vhost-bucket.localhost\n");
  WriteFile(tmp_.path() + "/vhost.py", R"(
import sys, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "virtual"}))
r = s3.put_object(Bucket="vhost-bucket", Key="dir/v.txt", Body=b"virtual")
assert s3.get_object(Bucket="vhost-bucket", Key="dir/v.txt")["Body"].read() == b"virtual"
print([o["Key"] for o in s3.list_objects_v2(Bucket="vhost-bucket")["Contents"]])
)");
  std::string endpoint = "http://localhost:" + std::to_string(port_);
  RunResult r = bucketd::testing::Run(
      {"/usr/bin/unshare", "--mount", "/bin/sh", "-c",
       "mount --bind " + tmp_.path() + "/hosts /etc/hosts && exec /usr/bin/env python3 " + tmp_.path() + "/vhost.py " + endpoint},
      "", ClientEnv(admin_, false));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "['dir/v.txt']\n");
  // The Host header named the bucket: the object is where path style finds it.
  EXPECT_EQ(ReadFile(daemon_->root() + "/buckets/vhost-bucket/dir/v.txt"), "virtual");
}

TEST_F(S3SecurityTest, TheShippedConfigServesOnPort4566) {
  ASSERT_EQ(daemon_->Stop(), 0);
  std::string shipped = ReadFile(std::string(BUCKETD_SOURCE_DIR) + "/etc/bucketd.json");
  ASSERT_NE(shipped.find("\"Listen\": \"127.0.0.1:4566\""), std::string::npos) << shipped;
  WriteFile(daemon_->cfg() + "/bucketd.json", shipped);
  daemon_->Start();
  ASSERT_TRUE(daemon_->WaitReady()) << daemon_->Log();
  EXPECT_NE(daemon_->Log().find("AWS API endpoint on http://127.0.0.1:4566"), std::string::npos) << daemon_->Log();
  std::vector<std::string> env = ClientEnv(admin_, false);
  env.push_back("AWS_ENDPOINT_URL=http://127.0.0.1:4566");
  RunResult mb = bucketd::testing::Run({"/usr/bin/env", "aws", "s3", "mb", "s3://shipped"}, "", env);
  EXPECT_EQ(mb.exit_code, 0) << mb.err;
}

}  // namespace
}  // namespace bucketd::testing
