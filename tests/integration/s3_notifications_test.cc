// Bucket notification configurations through the endpoint: `aws s3api
// put-bucket-notification-configuration` wires a function to a bucket as a
// rule the running bucketd fires; bucketctl lists it beside rules.d's; a
// bucket rules.d configures is read-only through the API; a bad
// configuration is an S3 error naming the field.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/integration/s3_endpoint.h"

namespace bucketd::testing {
namespace {

class S3NotificationsTest : public S3EndpointTest {
 protected:
  RunResult Aws(std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/env", "aws"});
    return bucketd::testing::Run(args, "", ClientEnv(admin_));
  }
};

TEST_F(S3NotificationsTest, APutConfigurationWiresAFunctionToTheBucket) {
  daemon_->AddProbeFunction("OnNew", "record");
  // Functions are read at a reload; the configuration put below makes one.
  ASSERT_EQ(Aws({"s3", "mb", "s3://wired"}).exit_code, 0);
  RunResult put = Aws({"s3api", "put-bucket-notification-configuration", "--bucket", "wired",
                       "--notification-configuration", R"({"LambdaFunctionConfigurations": [{"Id": "etl",
      "LambdaFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:OnNew",
      "Events": ["s3:ObjectCreated:*"],
      "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".csv"}]}}}]})"});
  ASSERT_EQ(put.exit_code, 0) << put.err << daemon_->Log();
  RunResult got = Aws({"s3api", "get-bucket-notification-configuration", "--bucket", "wired"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  auto j = nlohmann::json::parse(got.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << got.out;
  ASSERT_EQ(j["LambdaFunctionConfigurations"].size(), 1u) << got.out;
  const auto& cfg = j["LambdaFunctionConfigurations"][0];
  EXPECT_EQ(cfg["Id"], "etl");
  EXPECT_EQ(cfg["LambdaFunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:OnNew");
  EXPECT_EQ(cfg["Events"], nlohmann::json::array({"s3:ObjectCreated:*"}));
  EXPECT_EQ(cfg["Filter"]["Key"]["FilterRules"].size(), 2u) << got.out;
  // The running bucketd took it as a rule: bucketctl lists it too.
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] { return daemon_->Log().find("loaded 1 rule(s)") != std::string::npos; }))
      << daemon_->Log();
  RunResult listed = Ctl({"--state-dir", daemon_->root() + "/.bucketd", "rules", "list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("s3-wired-etl"), std::string::npos) << listed.out;
  WriteFile(tmp_.path() + "/x.csv", "a,b\n");
  ASSERT_EQ(Aws({"s3", "cp", tmp_.path() + "/x.csv", "s3://wired/in/x.csv"}).exit_code, 0);
  ASSERT_EQ(Aws({"s3", "cp", tmp_.path() + "/x.csv", "s3://wired/other/y.csv"}).exit_code, 0);
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] { return !ListDir(daemon_->out()).empty(); }, 20000)) << daemon_->Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(ListDir(daemon_->out()).size(), 1u) << "only in/x.csv matches the filter";
  // An empty configuration removes it.
  ASSERT_EQ(Aws({"s3api", "put-bucket-notification-configuration", "--bucket", "wired",
                 "--notification-configuration", "{}"}).exit_code, 0);
  got = Aws({"s3api", "get-bucket-notification-configuration", "--bucket", "wired"});
  EXPECT_EQ(got.out.find("LambdaFunctionConfigurations"), std::string::npos) << got.out;
  EXPECT_TRUE(PipelineDaemon::WaitFor([&] { return daemon_->Log().find("loaded 0 rule(s)", daemon_->Log().find("loaded 1 rule(s)")) != std::string::npos; }))
      << daemon_->Log();
}

TEST_F(S3NotificationsTest, ABadConfigurationOrAConfigFileBucketIsRefusedWithAClearError) {
  ASSERT_EQ(Aws({"s3", "mb", "s3://fixed"}).exit_code, 0);
  ASSERT_EQ(Aws({"s3", "mb", "s3://loose"}).exit_code, 0);
  RunResult bad = Aws({"s3api", "put-bucket-notification-configuration", "--bucket", "loose",
                       "--notification-configuration", R"({"QueueConfigurations": [{"Id": "q",
      "QueueArn": "arn:aws:sqs:us-east-1:000000000000:q", "Events": ["s3:ObjectRestore:*"]}]})"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("InvalidArgument"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("/QueueConfigurations/0/Events/0: unsupported event type 's3:ObjectRestore:*'"),
            std::string::npos)
      << bad.err;
  WriteFile(daemon_->cfg() + "/rules.d/fixed.json", R"({"Bucket": "fixed", "LambdaFunctionConfigurations": [
      {"Id": "f", "LambdaFunctionArn": "arn:aws:lambda:local:000000000000:function:F", "Events": ["s3:ObjectCreated:*"]}]})");
  RunResult ro = Aws({"s3api", "put-bucket-notification-configuration", "--bucket", "fixed",
                      "--notification-configuration", "{}"});
  EXPECT_NE(ro.exit_code, 0);
  EXPECT_NE(ro.err.find("AccessDenied"), std::string::npos) << ro.err;
  EXPECT_NE(ro.err.find("rules.d/fixed.json, which is read-only through the API"), std::string::npos) << ro.err;
  // Nothing was stored for either.
  EXPECT_FALSE(Exists(daemon_->root() + "/.bucketd/notifications/loose.json"));
  EXPECT_FALSE(Exists(daemon_->root() + "/.bucketd/notifications/fixed.json"));
  EXPECT_EQ(Aws({"s3", "ls", "s3://loose"}).exit_code, 0) << "the endpoint answers on";
}

}  // namespace
}  // namespace bucketd::testing
