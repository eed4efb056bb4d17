// An AWS Lambda handler, unchanged, on bucketd (issue 15): wired to a bucket
// by `aws s3api put-bucket-notification-configuration`, it gets S3's event
// message, reads and writes through the endpoint with boto3 (Debian's 1.26,
// which predates AWS_ENDPOINT_URL) on its role's temporary credentials, and
// what the role may not do is refused and recorded.
#include <gtest/gtest.h>

#include <sys/prctl.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/s3_endpoint.h"

namespace bucketd::testing {
namespace {

constexpr char kS3Handler[] = R"(import json, logging, urllib.parse
import boto3
logger = logging.getLogger()
logger.setLevel(logging.INFO)
s3 = boto3.client("s3")

def lambda_handler(event, context):
    record = event["Records"][0]
    bucket = record["s3"]["bucket"]["name"]
    key = urllib.parse.unquote_plus(record["s3"]["object"]["key"], encoding="utf-8")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    logger.info("read %s: %d bytes", key, len(body))
    s3.put_object(Bucket="out", Key=key + ".upper", Body=body.upper())
    return {"key": key, "event_key": record["s3"]["object"]["key"], "eventName": record["eventName"],
            "configurationId": record["s3"]["configurationId"], "size": record["s3"]["object"]["size"],
            "arn": boto3.client("sts").get_caller_identity()["Arn"]}
)";

constexpr char kLambdaTrust[] = R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})";

class LambdaAwsTest : public S3EndpointTest {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<PipelineDaemon>(tmp_.path());
    ::mkdir((tmp_.path() + "/home").c_str(), 0700);
    admin_ = CreateUser("alice", "arn:aws:iam::aws:policy/AdministratorAccess");
    WriteFile(tmp_ / "trust.json", kLambdaTrust);
    WriteFile(tmp_ / "writer.json", R"({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::out/*"}]})");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"iam", "create-role", "--role-name", "writer", "--assume-role-policy-document",
                                   "file://" + tmp_ / "trust.json"},
          {"iam", "put-role-policy", "--role-name", "writer", "--policy-name", "rw", "--policy-document",
           "file://" + tmp_ / "writer.json"},
          {"iam", "create-role", "--role-name", "reader", "--assume-role-policy-document",
           "file://" + tmp_ / "trust.json"},
          {"iam", "attach-role-policy", "--role-name", "reader", "--policy-arn",
           "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}}) {
      RunResult r = Ctl(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    std::string code = tmp_ / "code";
    ::mkdir(code.c_str(), 0755);
    WriteFile(code + "/lambda_function.py", kS3Handler);
    // The deployment package, as `zip -r function.zip .` makes it.
    RunResult zipped = bucketd::testing::Run({"/usr/bin/python3", "-c", R"(import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.write(sys.argv[2], "lambda_function.py")
)", tmp_ / "function.zip", code + "/lambda_function.py"});
    ASSERT_EQ(zipped.exit_code, 0) << zipped.err;
    // Its code is a package in a bucket, not there yet: the functions load
    // and fail until a reload finds it.
    for (const auto& [name, role] : {std::pair<std::string, std::string>{"Upper", "writer"}, {"ReadOnly", "reader"}}) {
      WriteFile(daemon_->cfg() + "/functions.d/" + name + ".json",
                R"({"FunctionName": ")" + name + R"(", "Runtime": "python3.11",
                    "Handler": "lambda_function.lambda_handler", "Code": {"S3Bucket": "code", "S3Key": "function.zip"},
                    "Role": "arn:aws:iam::000000000000:role/)" + role + R"(", "Timeout": 20,
                    "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::dest/ok/"},
                                          "OnFailure": {"Destination": "arn:aws:s3:::dest/fail/"}}})");
    }
    for (const char* b : {"s3://data", "s3://out", "s3://dest", "s3://code"}) ASSERT_EQ(Ctl({"mb", b}).exit_code, 0);
    StartDaemon();
  }

  struct Notification {
    std::string id, function, prefix, events = "s3:ObjectCreated:*";
  };
  // Puts bucket data's notification configuration, one function per prefix
  // (its put reloads the functions too), and waits until it is loaded.
  void PutNotifications(const std::vector<Notification>& configs) {
    nlohmann::json list = nlohmann::json::array();
    for (const Notification& c : configs) {
      list.push_back({{"Id", c.id},
                      {"LambdaFunctionArn", "arn:aws:lambda:local:000000000000:function:" + c.function},
                      {"Events", {c.events}},
                      {"Filter", {{"Key", {{"FilterRules", {{{"Name", "prefix"}, {"Value", c.prefix}}}}}}}}});
    }
    RunResult put = Aws({"s3api", "put-bucket-notification-configuration", "--bucket", "data",
                         "--notification-configuration", nlohmann::json{{"LambdaFunctionConfigurations", list}}.dump()});
    ASSERT_EQ(put.exit_code, 0) << put.err;
    std::string loaded = "loaded " + std::to_string(configs.size()) + " rule(s)";
    ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return daemon_->Log().find(loaded) != std::string::npos; }))
        << daemon_->Log();
  }

  RunResult Aws(std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/env", "aws"});
    return bucketd::testing::Run(args, "", ClientEnv(admin_));
  }

  // The destination records under dest/<which>/<function>/, once there are `n`.
  std::vector<nlohmann::json> Destination(const std::string& which, const std::string& function, size_t n) {
    std::string dir = daemon_->root() + "/buckets/dest/" + which + "/" + function;
    std::vector<nlohmann::json> out;
    PipelineDaemon::WaitFor(
        [&] {
          out.clear();
          for (const std::string& f : ListDir(dir)) {
            auto j = nlohmann::json::parse(ReadFile(dir + "/" + f), nullptr, false);
            if (!j.is_discarded()) out.push_back(j);
          }
          return out.size() >= n;
        },
        40000);
    return out;
  }
};

TEST_F(LambdaAwsTest, AnUnchangedHandlerGetsS3sRecordsAndWorksWithItsRolesCredentials) {
  EXPECT_NE(daemon_->Log().find("s3://code/function.zip"), std::string::npos) << "the missing package is named";
  RunResult up = Aws({"s3", "cp", tmp_ / "function.zip", "s3://code/function.zip"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  // The configuration's put reloads, and the functions take their package.
  ASSERT_NO_FATAL_FAILURE(PutNotifications(
      {{"upper", "Upper", "in/"}, {"readonly", "ReadOnly", "ro/", "s3:ObjectCreated:Put"}}));
  WriteFile(tmp_ / "f", "hello lambda");
  // A key with a space and a '+': S3 writes it form-encoded in the message.
  RunResult cp = Aws({"s3", "cp", tmp_ / "f", "s3://data/in/a b+c.txt"});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;

  auto ok = Destination("ok", "Upper", 1);
  ASSERT_EQ(ok.size(), 1u) << daemon_->Log();
  const nlohmann::json& got = ok[0]["responsePayload"];
  EXPECT_EQ(got["key"], "in/a b+c.txt") << ok[0].dump();
  EXPECT_EQ(got["event_key"], "in/a+b%2Bc.txt");
  EXPECT_EQ(got["eventName"], "ObjectCreated:Put");
  EXPECT_EQ(got["configurationId"], "upper");
  EXPECT_EQ(got["size"], 12);
  EXPECT_EQ(got["arn"], "arn:aws:sts::000000000000:assumed-role/writer/Upper");
  EXPECT_EQ(ReadFile(daemon_->root() + "/buckets/out/in/a b+c.txt.upper"), "HELLO LAMBDA");
  std::string id = ok[0]["requestContext"]["requestId"];
  std::string log = daemon_->Log();
  EXPECT_NE(log.find("\t" + id + "\tread in/a b+c.txt: 12 bytes"), std::string::npos) << log;

  // The handler's write is the assumed role's in the trail.
  auto records = Records("out", [](const std::vector<nlohmann::json>& r) {
    return std::any_of(r.begin(), r.end(), [](const nlohmann::json& x) { return x["eventName"] == "PutObject"; });
  });
  bool found = false;
  for (const auto& r : records) {
    if (r["eventName"] != "PutObject") continue;
    found = true;
    const nlohmann::json& who = r["userIdentity"];
    EXPECT_EQ(who["type"], "AssumedRole") << r.dump();
    EXPECT_EQ(who["arn"], "arn:aws:sts::000000000000:assumed-role/writer/Upper");
    EXPECT_EQ(who["accessKeyId"].get<std::string>().rfind("ASIA", 0), 0u);
    EXPECT_EQ(who["sessionContext"]["sessionIssuer"]["userName"], "writer");
    EXPECT_EQ(who["sessionContext"]["sessionIssuer"]["arn"], "arn:aws:iam::000000000000:role/writer");
    EXPECT_FALSE(who.contains("userName"));
  }
  EXPECT_TRUE(found) << nlohmann::json(records).dump();

  // A read-only role's write is refused, and the refusal recorded.
  RunResult ro = Aws({"s3", "cp", tmp_ / "f", "s3://data/ro/x.txt"});
  ASSERT_EQ(ro.exit_code, 0) << ro.err;
  auto fail = Destination("fail", "ReadOnly", 1);
  ASSERT_EQ(fail.size(), 1u) << daemon_->Log();
  const nlohmann::json& doc = fail[0]["responsePayload"];
  EXPECT_EQ(doc["errorType"], "ClientError") << fail[0].dump();
  EXPECT_NE(doc["errorMessage"].get<std::string>().find("AccessDenied"), std::string::npos) << doc.dump();
  EXPECT_TRUE(doc["stackTrace"].is_array());
  EXPECT_EQ(fail[0]["requestContext"]["approximateInvokeCount"], 3) << "Lambda's default: two retries";
  EXPECT_EQ(fail[0]["requestContext"]["condition"], "RetriesExhausted");
  auto refused = Records("out", [](const std::vector<nlohmann::json>& r) {
    return std::any_of(r.begin(), r.end(), [](const nlohmann::json& x) { return x.contains("errorCode"); });
  });
  found = false;
  for (const auto& r : refused) {
    if (!r.contains("errorCode")) continue;
    found = true;
    EXPECT_EQ(r["errorCode"], "AccessDenied") << r.dump();
    EXPECT_EQ(r["userIdentity"]["arn"], "arn:aws:sts::000000000000:assumed-role/reader/ReadOnly");
  }
  EXPECT_TRUE(found) << nlohmann::json(refused).dump();
}

TEST_F(LambdaAwsTest, AFunctionWhoseRoleIsMissingOrUntrustingFailsNamingTheRole) {
  WriteFile(tmp_ / "ec2.json", R"({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
      "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})");
  ASSERT_EQ(Ctl({"iam", "create-role", "--role-name", "ec2", "--assume-role-policy-document",
                 "file://" + tmp_ / "ec2.json"}).exit_code, 0);
  std::string code = tmp_ / "code";
  for (const auto& [name, role] : {std::pair<std::string, std::string>{"NoRole", "nobody"}, {"Untrusting", "ec2"}}) {
    WriteFile(daemon_->cfg() + "/functions.d/" + name + ".json",
              R"({"FunctionName": ")" + name + R"(", "Runtime": "python3.11",
                  "Handler": "lambda_function.lambda_handler", "Code": {"Directory": ")" + code + R"("},
                  "Role": "arn:aws:iam::000000000000:role/)" + role + R"(",
                  "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::dest/fail/"}}})");
  }
  // The configuration's put reloads the functions too.
  ASSERT_NO_FATAL_FAILURE(PutNotifications({{"a", "NoRole", "a/"}, {"b", "Untrusting", "b/"}}));
  WriteFile(tmp_ / "f", "x");
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "f", "s3://data/a/x"}).exit_code, 0);
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "f", "s3://data/b/x"}).exit_code, 0);
  std::string log;
  ASSERT_TRUE(PipelineDaemon::WaitFor(
      [&] {
        log = daemon_->Log();
        return log.find("role/nobody does not exist") != std::string::npos &&
               log.find("role/ec2 cannot be assumed by lambda.amazonaws.com") != std::string::npos;
      },
      20000))
      << log;
}

// A package dropped into the bucket's folder by another user is not run;
// one whose entries leave the package is refused whole.
TEST_F(LambdaAwsTest, APackageNotWrittenThroughTheEndpointOrLeavingItsDirectoryIsRefused) {
  std::string dropped = daemon_->root() + "/buckets/code/function.zip";
  WriteFile(dropped, ReadFile(tmp_ / "function.zip"));
  ASSERT_EQ(::chown(dropped.c_str(), 65534, 65534), 0) << "the test runs as root";
  RunResult evil = bucketd::testing::Run({"/usr/bin/python3", "-c", R"PY(import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("../escape.py", "print('out')")
)PY", tmp_ / "evil.zip"});
  ASSERT_EQ(evil.exit_code, 0) << evil.err;
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "evil.zip", "s3://code/evil.zip"}).exit_code, 0);
  WriteFile(daemon_->cfg() + "/functions.d/Evil.json", R"({"FunctionName": "Evil", "Runtime": "python3.11",
      "Handler": "escape.handler", "Code": {"S3Bucket": "code", "S3Key": "evil.zip"}})");
  ASSERT_EQ(Aws({"s3api", "put-bucket-notification-configuration", "--bucket", "data",
                 "--notification-configuration", "{}"}).exit_code, 0);
  std::string log;
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] {
    log = daemon_->Log();
    return log.find("loaded 0 rule(s)") != std::string::npos;
  })) << log;
  EXPECT_NE(log.find("s3://code/function.zip was dropped into the bucket's folder by uid 65534"), std::string::npos)
      << log;
  EXPECT_NE(log.find("s3://code/evil.zip: entry '../escape.py': expected a relative path without '..' segments"),
            std::string::npos)
      << log;
  EXPECT_FALSE(std::filesystem::exists(daemon_->root() + "/.bucketd/lambda/escape.py"));
  std::string out = tmp_ / "out.json";
  RunResult r = Ctl({"lambda", "invoke", "--function-name", "Upper", "--payload", "{}", out});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("dropped into the bucket's folder"), std::string::npos) << r.err;
}

// `aws lambda invoke` and boto3's lambda client against the endpoint.
TEST_F(LambdaAwsTest, AwsLambdaInvokeAndBoto3GetTheHandlersValueAndItsErrors) {
  std::string code = tmp_ / "echo";
  ::mkdir(code.c_str(), 0755);
  WriteFile(code + "/echo.py", R"(def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    print("echoing", event)
    return {"echo": event, "id": context.aws_request_id}
)");
  WriteFile(daemon_->cfg() + "/functions.d/Echo.json", R"({"FunctionName": "Echo", "Runtime": "python3.11",
      "Handler": "echo.handler", "Code": {"Directory": ")" + code + R"("}})");
  // Functions are read at a reload; an (empty) notification put makes one.
  ASSERT_EQ(Aws({"s3api", "put-bucket-notification-configuration", "--bucket", "data",
                 "--notification-configuration", "{}"}).exit_code, 0);
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return daemon_->Log().find("loaded 0 rule(s)") != std::string::npos; }))
      << daemon_->Log();

  std::string out = tmp_ / "out.json";
  RunResult r = Aws({"lambda", "invoke", "--function-name", "Echo", "--payload", R"({"k": 1})", out});
  ASSERT_EQ(r.exit_code, 0) << r.err << daemon_->Log();
  auto printed = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(printed["StatusCode"], 200) << r.out;
  EXPECT_EQ(printed["ExecutedVersion"], "$LATEST");
  auto value = nlohmann::json::parse(ReadFile(out), nullptr, false);
  EXPECT_EQ(value["echo"], (nlohmann::json{{"k", 1}})) << ReadFile(out);

  r = Aws({"lambda", "invoke", "--function-name", "Echo", "--payload", R"({"fail": true})", "--log-type", "Tail", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  printed = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(printed["FunctionError"], "Unhandled") << r.out;
  EXPECT_EQ(nlohmann::json::parse(ReadFile(out), nullptr, false)["errorType"], "RuntimeError") << ReadFile(out);
  std::string tail = bucketd::testing::Run({"/usr/bin/base64", "-d"}, printed["LogResult"].get<std::string>()).out;
  EXPECT_NE(tail.find("END RequestId: "), std::string::npos) << tail;

  // boto3, the newer one on the PATH and Debian's, which is given the endpoint.
  std::string script = R"(import boto3, json, sys
kw = {} if len(sys.argv) < 2 else {"endpoint_url": sys.argv[1]}
c = boto3.client("lambda", **kw)
r = c.invoke(FunctionName="arn:aws:lambda:us-east-1:000000000000:function:Echo", Payload=json.dumps({"py": 1}))
body = json.loads(r["Payload"].read())
ev = c.invoke(FunctionName="Echo", InvocationType="Event", Payload=b"{}")
dry = c.invoke(FunctionName="Echo", InvocationType="DryRun")
try:
    c.invoke(FunctionName="Nope")
    missing = "no error"
except c.exceptions.ResourceNotFoundException as e:
    missing = e.response["Error"]["Code"]
print(json.dumps({"status": r["StatusCode"], "echo": body["echo"], "same_id": body["id"] == r["ResponseMetadata"]["RequestId"],
                  "event": ev["StatusCode"], "dry": dry["StatusCode"], "missing": missing}))
)";
  for (const std::vector<std::string>& python :
       {std::vector<std::string>{"/usr/bin/env", "python3", "-c", script},
        std::vector<std::string>{"/usr/bin/python3", "-c", script, endpoint_}}) {
    RunResult p = bucketd::testing::Run(python, "", ClientEnv(admin_));
    ASSERT_EQ(p.exit_code, 0) << python[0] << ": " << p.err;
    auto j = nlohmann::json::parse(p.out, nullptr, false);
    EXPECT_EQ(j, (nlohmann::json{{"status", 200}, {"echo", {{"py", 1}}}, {"same_id", true}, {"event", 202},
                                 {"dry", 204}, {"missing", "ResourceNotFoundException"}}))
        << python[0] << ": " << p.out;
  }

  // Invoking is lambda:InvokeFunction: an S3 reader may not.
  AccessKeyPair reader = CreateUser("rita", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
  RunResult denied = bucketd::testing::Run({"/usr/bin/env", "aws", "lambda", "invoke", "--function-name", "Echo", out},
                                           "", ClientEnv(reader));
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_NE(denied.err.find("AccessDeniedException"), std::string::npos) << denied.err;
}

// UpdateFunctionCode: the running bucketd takes the package again from
// where the function's file names it; the warm environments of the old
// code serve no more invocations, and a package that cannot be taken
// leaves the code that runs as it was. A Code.Directory's files, changed in
// place, are taken the same way.
TEST_F(LambdaAwsTest, UpdateFunctionCodeTakesThePackageAgainAndOnlyFreshEnvironmentsRunIt) {
  RunResult zipped = bucketd::testing::Run({"/usr/bin/python3", "-c", R"(import sys, zipfile
for path, version in ((sys.argv[1], "v1"), (sys.argv[2], "v2")):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("versioned.py", "VERSION = %r\ndef handler(event, context):\n    return {'v': VERSION}\n" % version)
)", tmp_ / "v1.zip", tmp_ / "v2.zip"});
  ASSERT_EQ(zipped.exit_code, 0) << zipped.err;
  std::string dir = tmp_ / "versioned";
  ::mkdir(dir.c_str(), 0755);
  WriteFile(dir + "/versioned.py", "def handler(event, context):\n    return {'v': 'd1'}\n");
  WriteFile(daemon_->cfg() + "/functions.d/Versioned.json", R"({"FunctionName": "Versioned", "Runtime": "python3.11",
      "Handler": "versioned.handler", "Code": {"S3Bucket": "code", "S3Key": "versioned.zip"}})");
  WriteFile(daemon_->cfg() + "/functions.d/InPlace.json", R"({"FunctionName": "InPlace", "Runtime": "python3.11",
      "Handler": "versioned.handler", "Code": {"Directory": ")" + dir + R"("}})");
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "v1.zip", "s3://code/versioned.zip"}).exit_code, 0);
  RunResult reloaded = Ctl({"reload"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err;
  auto invoke = [&](const std::string& function) {
    std::string out = tmp_ / "out.json";
    RunResult r = Ctl({"lambda", "invoke", "--function-name", function, out});
    EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->Log();
    return nlohmann::json::parse(ReadFile(out), nullptr, false).value("v", "?");
  };
  EXPECT_EQ(invoke("Versioned"), "v1");
  EXPECT_EQ(invoke("InPlace"), "d1");
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "v2.zip", "s3://code/versioned.zip"}).exit_code, 0);
  WriteFile(dir + "/versioned.py", "def handler(event, context):\n    return {'v': 'd2'}\n");
  EXPECT_EQ(invoke("Versioned"), "v1") << "the package is taken when told, not at each write";
  EXPECT_EQ(invoke("InPlace"), "d1") << "the warm environment keeps the module it imported";

  RunResult elsewhere = Ctl({"lambda", "update-function-code", "--function-name", "Versioned", "--s3-bucket", "data",
                             "--s3-key", "versioned.zip"});
  EXPECT_NE(elsewhere.exit_code, 0);
  EXPECT_NE(elsewhere.err.find("(InvalidParameterValueException) when calling the UpdateFunctionCode operation: "
                               "function Versioned's file " + daemon_->cfg() + "/functions.d/Versioned.json names "
                               "s3://code/versioned.zip in /Code"),
            std::string::npos)
      << elsewhere.err;
  RunResult updated = Ctl({"lambda", "update-function-code", "--function-name", "Versioned", "--s3-bucket", "code",
                           "--s3-key", "versioned.zip"});
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  auto config = nlohmann::json::parse(updated.out, nullptr, false);
  RunResult sha = bucketd::testing::Run({"/bin/sh", "-c", "openssl dgst -sha256 -binary " + tmp_ / "v2.zip" + " | base64"});
  EXPECT_EQ(config.value("CodeSha256", "") + "\n", sha.out) << updated.out;
  EXPECT_EQ(config["CodeSize"], ReadFile(tmp_ / "v2.zip").size());
  EXPECT_EQ(config["FunctionArn"], "arn:aws:lambda:local:000000000000:function:Versioned");
  EXPECT_EQ(config["LastUpdateStatus"], "Successful");
  EXPECT_EQ(invoke("Versioned"), "v2");
  ASSERT_EQ(Ctl({"lambda", "update-function-code", "--function-name", "InPlace"}).exit_code, 0);
  EXPECT_EQ(invoke("InPlace"), "d2");

  // A package that is no zip: refused, and v2 keeps running.
  WriteFile(tmp_ / "garbage.zip", "PK\x03\x04 no zip");
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "garbage.zip", "s3://code/versioned.zip"}).exit_code, 0);
  RunResult bad = Ctl({"lambda", "update-function-code", "--function-name", "Versioned"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("Versioned.json: /Code: s3://code/versioned.zip: "), std::string::npos) << bad.err;
  EXPECT_EQ(invoke("Versioned"), "v2");
  RunResult missing = Ctl({"lambda", "update-function-code", "--function-name", "Nope"});
  EXPECT_NE(missing.err.find("(ResourceNotFoundException) when calling the UpdateFunctionCode operation: Function "
                             "not found: arn:aws:lambda:local:000000000000:function:Nope"),
            std::string::npos)
      << missing.err;
}

// The jupyter runtime (the seed's RunNotebook ran SageMaker processing jobs
// with papermill): the notebook named by input_path is taken from the
// bucket, its parameters injected after the cell tagged "parameters", run
// on an ipykernel kernel with the function's role, and the executed
// notebook and its HTML land under output_prefix; a cell that raises fails
// the invocation with its traceback, and its notebook is written still.
TEST_F(LambdaAwsTest, ANotebookRunsWithItsParametersAndItsExecutedCopyAndHtmlLandInTheBucket) {
  RunResult made = bucketd::testing::Run({"/usr/bin/python3", "-c", R"PY(import sys, nbformat
nb = nbformat.v4.new_notebook()
params = nbformat.v4.new_code_cell("threshold = 1\nname = 'default'")
params.metadata["tags"] = ["parameters"]
nb.cells = [nbformat.v4.new_markdown_cell("# Rows above a threshold"), params,
            nbformat.v4.new_code_cell("import json, boto3\ns3 = boto3.client('s3')\n"
                                      "rows = [int(x) for x in s3.get_object(Bucket='data', Key='nb/rows.txt')['Body'].read().split()]\n"
                                      "above = sum(1 for r in rows if r > threshold)\nprint('rows above', threshold, above)"),
            nbformat.v4.new_code_cell("s3.put_object(Bucket='out', Key='reports/' + name + '.json', "
                                      "Body=json.dumps({'name': name, 'above': above}))"),
            nbformat.v4.new_code_cell("if name == 'fail':\n    raise ValueError('asked to fail by ' + name)")]
nbformat.write(nb, sys.argv[1])
)PY", tmp_ / "analysis.ipynb"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  WriteFile(tmp_ / "rows.txt", "1 2 3 4 5\n");
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "analysis.ipynb", "s3://data/nb/analysis.ipynb"}).exit_code, 0);
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "rows.txt", "s3://data/nb/rows.txt"}).exit_code, 0);
  WriteFile(daemon_->cfg() + "/functions.d/Notebook.json", R"({"FunctionName": "Notebook", "Runtime": "jupyter",
      "Role": "arn:aws:iam::000000000000:role/writer", "Timeout": 120})");
  RunResult reloaded = Ctl({"reload"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err;

  auto invoke = [&](const std::string& name) {
    std::string out = tmp_ / "out.json";
    RunResult r = Ctl({"lambda", "invoke", "--function-name", "Notebook", "--payload",
                       R"({"input_path": "s3://data/nb/analysis.ipynb", "output_prefix": "s3://out/reports/",
                           "parameters": {"threshold": 2, "name": ")" + name + R"("}})", out});
    EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->Log();
    return std::make_pair(nlohmann::json::parse(r.out, nullptr, false), nlohmann::json::parse(ReadFile(out), nullptr, false));
  };
  auto [printed, value] = invoke("run1");
  EXPECT_EQ(printed.contains("FunctionError"), false) << value.dump() << daemon_->Log();
  EXPECT_EQ(value["output_notebook"], "s3://out/reports/analysis.ipynb") << value.dump();
  EXPECT_EQ(value["output_html"], "s3://out/reports/analysis.html");
  EXPECT_EQ(value["parameters"], (nlohmann::json{{"threshold", 2}, {"name", "run1"}}));
  // What the kernel wrote with the role's credentials, and the executed copy.
  EXPECT_EQ(nlohmann::json::parse(ReadFile(daemon_->root() + "/buckets/out/reports/run1.json"), nullptr, false),
            (nlohmann::json{{"name", "run1"}, {"above", 3}}));
  auto executed = nlohmann::json::parse(ReadFile(daemon_->root() + "/buckets/out/reports/analysis.ipynb"), nullptr, false);
  ASSERT_TRUE(executed.contains("cells")) << executed.dump();
  ASSERT_EQ(executed["cells"].size(), 6u);
  EXPECT_EQ(executed["cells"][2]["metadata"]["tags"], nlohmann::json::array({"injected-parameters"}));
  std::string injected;
  for (const auto& line : executed["cells"][2]["source"]) injected += line.get<std::string>();
  if (executed["cells"][2]["source"].is_string()) injected = executed["cells"][2]["source"];
  EXPECT_EQ(injected, "# Parameters\nthreshold = 2\nname = 'run1'\n");
  EXPECT_NE(executed["cells"][3]["outputs"].dump().find("rows above 2 3"), std::string::npos)
      << executed["cells"][3].dump();
  std::string html = ReadFile(daemon_->root() + "/buckets/out/reports/analysis.html");
  EXPECT_NE(html.find("<html"), std::string::npos);
  EXPECT_NE(html.find("rows above 2 3"), std::string::npos);
  EXPECT_NE(daemon_->Log().find("executing s3://data/nb/analysis.ipynb (5 code cells)"), std::string::npos);
  EXPECT_NE(daemon_->Log().find("REPORT RequestId: "), std::string::npos);

  std::tie(printed, value) = invoke("fail");
  EXPECT_EQ(printed["FunctionError"], "Unhandled") << printed.dump();
  EXPECT_EQ(value["errorType"], "CellExecutionError") << value.dump();
  std::string message = value.value("errorMessage", "");
  EXPECT_EQ(message.rfind("cell 6 (In [5]) raised ValueError: asked to fail by fail\n", 0), 0u) << message;
  EXPECT_NE(message.find("raise ValueError('asked to fail by ' + name)"), std::string::npos) << message;
  EXPECT_EQ(message.find("\x1b["), std::string::npos) << "no terminal colours in the message";
  executed = nlohmann::json::parse(ReadFile(daemon_->root() + "/buckets/out/reports/analysis.ipynb"), nullptr, false);
  EXPECT_NE(executed["cells"][5]["outputs"].dump().find("\"output_type\":\"error\""), std::string::npos)
      << "the failed run's notebook is written with its error";
  // No kernel outlives its run, also one ended by the function's Timeout
  // (jupyter_client starts kernels in a session of their own) under a
  // subreaper (a container's init, systemd --user), where ipykernel's own
  // watch for a parent pid of 1 never fires.
  EXPECT_NE(bucketd::testing::Run({"/usr/bin/pgrep", "-f", "notebook_kernel.py"}).exit_code, 0);
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  made = bucketd::testing::Run({"/usr/bin/python3", "-c", R"PY(import sys, nbformat
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell("import time\nprint('sleeping', flush=True)\ntime.sleep(120)")]
nbformat.write(nb, sys.argv[1])
)PY", tmp_ / "slow.ipynb"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ASSERT_EQ(Aws({"s3", "cp", tmp_ / "slow.ipynb", "s3://data/nb/slow.ipynb"}).exit_code, 0);
  WriteFile(daemon_->cfg() + "/functions.d/Slow.json", R"({"FunctionName": "Slow", "Runtime": "jupyter",
      "Role": "arn:aws:iam::000000000000:role/writer", "Timeout": 8})");
  ASSERT_EQ(Ctl({"reload"}).exit_code, 0);
  std::string out = tmp_ / "slow.json";
  RunResult slow = Ctl({"lambda", "invoke", "--function-name", "Slow", "--payload",
                        R"({"input_path": "s3://data/nb/slow.ipynb", "output_prefix": "s3://out/reports/"})", out});
  EXPECT_EQ(nlohmann::json::parse(ReadFile(out), nullptr, false).value("errorMessage", ""),
            "Task timed out after 8.00 seconds") << ReadFile(out) << daemon_->Log();
  EXPECT_TRUE(PipelineDaemon::WaitFor([] {
    return bucketd::testing::Run({"/usr/bin/pgrep", "-f", "notebook_kernel.py"}).exit_code != 0;
  }, 5000)) << bucketd::testing::Run({"/usr/bin/pgrep", "-af", "notebook_kernel.py"}).out;
  (void)::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

// The node and provided runtimes on the same path as python's: code from
// zips in a bucket (written through the endpoint), wired by an S3
// notification configuration, get S3's Records with the key form-encoded;
// their return values reach the success destination, a throw Node's error
// document the failure one.
TEST_F(LambdaAwsTest, ANodeHandlerAndAProvidedBootstrapFromZipsInABucketGetS3sRecords) {
  RunResult zipped = bucketd::testing::Run({"/usr/bin/python3", "-c", R"PY(import sys, zipfile
def add(z, name, text, mode=0o644):
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o100000 | mode) << 16
    z.writestr(info, text)
with zipfile.ZipFile(sys.argv[1], "w") as z:
    add(z, "index.js", """exports.handler = async (event) => {
  const r = event.Records[0];
  const key = decodeURIComponent(r.s3.object.key.replace(/\\+/g, " "));
  console.log("node got", key);
  if (key.includes("bad")) throw new RangeError("cannot take " + key);
  return {key, eventName: r.eventName, bucket: r.s3.bucket.name};
};
""")
with zipfile.ZipFile(sys.argv[2], "w") as z:
    add(z, "bootstrap", """#!/bin/sh
set -eu
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/invocation/next")
  id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | tr -d '\\r' | cut -d' ' -f2)
  rm -f "$headers"
  curl -sS -X POST "$api/invocation/$id/response" -d "{\\"sh\\": $event}" >/dev/null
done
""", 0o755)
)PY", tmp_ / "node.zip", tmp_ / "sh.zip"});
  ASSERT_EQ(zipped.exit_code, 0) << zipped.err;
  for (const char* z : {"node.zip", "sh.zip"}) {
    ASSERT_EQ(Aws({"s3", "cp", tmp_ / z, std::string("s3://code/") + z}).exit_code, 0);
  }
  WriteFile(daemon_->cfg() + "/functions.d/NodeRecords.json", R"({"FunctionName": "NodeRecords",
      "Runtime": "nodejs20.x", "Handler": "index.handler", "Code": {"S3Bucket": "code", "S3Key": "node.zip"},
      "MaximumRetryAttempts": 0,
      "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::dest/ok/"},
                            "OnFailure": {"Destination": "arn:aws:s3:::dest/fail/"}}})");
  WriteFile(daemon_->cfg() + "/functions.d/ShRecords.json", R"({"FunctionName": "ShRecords",
      "Runtime": "provided.al2023", "Handler": "function.handler", "Code": {"S3Bucket": "code", "S3Key": "sh.zip"},
      "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::dest/ok/"}}})");
  ASSERT_NO_FATAL_FAILURE(PutNotifications({{"node", "NodeRecords", "node/"}, {"sh", "ShRecords", "sh/"}}));
  WriteFile(tmp_ / "f", "hello");
  for (const char* key : {"s3://data/node/a b+c.txt", "s3://data/node/bad.txt", "s3://data/sh/x.txt"}) {
    ASSERT_EQ(Aws({"s3", "cp", tmp_ / "f", key}).exit_code, 0);
  }
  auto node = Destination("ok", "NodeRecords", 1);
  ASSERT_EQ(node.size(), 1u) << daemon_->Log();
  EXPECT_EQ(node[0]["responsePayload"], (nlohmann::json{{"key", "node/a b+c.txt"}, {"eventName", "ObjectCreated:Put"},
                                                        {"bucket", "data"}}))
      << node[0].dump();
  std::string id = node[0]["requestContext"]["requestId"];
  EXPECT_NE(daemon_->Log().find("\t" + id + "\tINFO\tnode got node/a b+c.txt"), std::string::npos) << daemon_->Log();
  auto failed = Destination("fail", "NodeRecords", 1);
  ASSERT_EQ(failed.size(), 1u) << daemon_->Log();
  const nlohmann::json& doc = failed[0]["responsePayload"];
  EXPECT_EQ(doc["errorType"], "RangeError") << doc.dump();
  EXPECT_EQ(doc["errorMessage"], "cannot take node/bad.txt");
  EXPECT_TRUE(doc["trace"].is_array() && !doc["trace"].empty()) << doc.dump();
  EXPECT_EQ(failed[0]["responseContext"]["functionError"], "Unhandled") << failed[0].dump();
  auto sh = Destination("ok", "ShRecords", 1);
  ASSERT_EQ(sh.size(), 1u) << daemon_->Log();
  const nlohmann::json& record = sh[0]["responsePayload"]["sh"]["Records"][0];
  EXPECT_EQ(record["eventSource"], "aws:s3") << sh[0].dump();
  EXPECT_EQ(record["s3"]["object"]["key"], "sh/x.txt");
  EXPECT_EQ(record["s3"]["configurationId"], "sh");
}

// A throttled Invoke through the endpoint is Lambda's 429
// TooManyRequestsException, which boto3 knows (and would retry).
TEST_F(LambdaAwsTest, AThrottledInvokeIsTooManyRequestsThroughTheEndpoint) {
  std::string code = tmp_ / "throttled";
  ::mkdir(code.c_str(), 0755);
  WriteFile(code + "/t.py", "def handler(event, context):\n    return 1\n");
  WriteFile(daemon_->cfg() + "/functions.d/Throttled.json", R"({"FunctionName": "Throttled", "Runtime": "python3.11",
      "Handler": "t.handler", "Code": {"Directory": ")" + code + R"("}, "ReservedConcurrentExecutions": 0})");
  ASSERT_EQ(Ctl({"reload"}).exit_code, 0);
  RunResult p = bucketd::testing::Run({"/usr/bin/env", "python3", "-c", R"(import boto3, botocore.config, json
c = boto3.client("lambda", config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}))
try:
    c.invoke(FunctionName="Throttled", Payload=b"{}")
    print(json.dumps({"error": None}))
except c.exceptions.TooManyRequestsException as e:
    print(json.dumps({"error": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}))
)"}, "", ClientEnv(admin_));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(p.out, nullptr, false),
            (nlohmann::json{{"error", "TooManyRequestsException"}, {"status", 429}}))
      << p.out;
}

}  // namespace
}  // namespace bucketd::testing
