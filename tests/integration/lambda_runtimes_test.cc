// The other Lambda runtimes on the same path as python3.x (issue 15): a
// nodejs handler through bucketd's Node runtime, a `provided` bootstrap (a
// shell script speaking the Runtime API with curl), and what a load tells
// about their code before any event.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/pipeline_daemon.h"

namespace bucketd::testing {
namespace {

constexpr char kNodeHandler[] = R"(let count = 0;
console.log("node init ran");
exports.handler = async (event, context) => {
  count += 1;
  console.log("handling", JSON.stringify(event));
  if (event.fail) throw new TypeError("cannot take " + event.fail);
  return {count, event, requestId: context.awsRequestId, fn: context.functionName,
          remaining: context.getRemainingTimeInMillis() > 0, env: process.env.AWS_EXECUTION_ENV};
};
exports.callback = (event, context, callback) => callback(null, {via: "callback", event});
)";

// What AWS's custom runtime tutorial does, in sh and curl.
constexpr char kBootstrap[] = R"(#!/bin/sh
set -eu
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
echo "provided init ran, handler $_HANDLER"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/invocation/next")
  id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | tr -d '\r' | cut -d' ' -f2)
  rm -f "$headers"
  echo "got $event"
  case "$event" in
    *fail*) curl -sS -X POST "$api/invocation/$id/error" -H 'Lambda-Runtime-Function-Error-Type: Unhandled' \
              -d '{"errorType": "ShellError", "errorMessage": "asked to fail"}' >/dev/null ;;
    *) curl -sS -X POST "$api/invocation/$id/response" -d "{\"sh\": $event, \"id\": \"$id\"}" >/dev/null ;;
  esac
done
)";

class LambdaRuntimesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<PipelineDaemon>(tmp_.path());
    std::string node = tmp_ / "node", sh = tmp_ / "sh";
    ::mkdir(node.c_str(), 0755);
    ::mkdir(sh.c_str(), 0755);
    WriteFile(node + "/index.js", kNodeHandler);
    WriteFile(sh + "/bootstrap", kBootstrap);
    ::chmod((sh + "/bootstrap").c_str(), 0755);
    WriteFile(daemon_->cfg() + "/functions.d/Js.json",
              R"({"FunctionName": "Js", "Runtime": "nodejs20.x", "Handler": "index.handler", "MaximumRetryAttempts": 0,
                  "Code": {"Directory": ")" + node + R"("},
                  "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::dest/ok/"},
                                        "OnFailure": {"Destination": "arn:aws:s3:::dest/fail/"}}})");
    WriteFile(daemon_->cfg() + "/functions.d/JsCallback.json",
              R"({"FunctionName": "JsCallback", "Runtime": "nodejs20.x", "Handler": "index.callback",
                  "Code": {"Directory": ")" + node + R"("}})");
    WriteFile(daemon_->cfg() + "/functions.d/Sh.json",
              R"({"FunctionName": "Sh", "Runtime": "provided.al2023", "Handler": "function.handler",
                  "Code": {"Directory": ")" + sh + R"("}})");
    daemon_->AddRule("js", "js/", "Js");
    ASSERT_EQ(daemon_->Ctl({"mb", "s3://data"}).exit_code, 0);
    ASSERT_EQ(daemon_->Ctl({"mb", "s3://dest"}).exit_code, 0);
    daemon_->Start();
    ASSERT_TRUE(daemon_->WaitReady()) << daemon_->Log();
  }
  // `bucketctl lambda invoke`: what it printed, and OUTFILE.
  std::pair<nlohmann::json, nlohmann::json> Invoke(const std::string& function, const std::string& payload) {
    std::string out = tmp_ / "out.json";
    RunResult r = daemon_->Ctl({"lambda", "invoke", "--function-name", function, "--payload", payload, out});
    EXPECT_EQ(r.exit_code, 0) << r.err << daemon_->Log();
    return {nlohmann::json::parse(r.out, nullptr, false), nlohmann::json::parse(ReadFile(out), nullptr, false)};
  }

  TempDir tmp_;
  std::unique_ptr<PipelineDaemon> daemon_;
};

TEST_F(LambdaRuntimesTest, ANodeHandlerRunsWarmWithItsContextAndItsErrorsInNodesShape) {
  auto [printed, value] = Invoke("Js", R"({"k": 1})");
  EXPECT_EQ(printed["StatusCode"], 200) << printed.dump();
  EXPECT_EQ(value["count"], 1) << value.dump();
  EXPECT_EQ(value["event"], (nlohmann::json{{"k", 1}}));
  EXPECT_EQ(value["fn"], "Js");
  EXPECT_EQ(value["remaining"], true);
  EXPECT_EQ(value["env"], "AWS_Lambda_nodejs20.x");
  std::tie(printed, value) = Invoke("Js", R"({"k": 2})");
  EXPECT_EQ(value["count"], 2) << "the same environment: " << value.dump();
  EXPECT_EQ(PipelineDaemon::Count(daemon_->Log(), "node init ran"), 1) << daemon_->Log();
  // Lambda's console format: time, request id, level, message.
  std::string id = value["requestId"];
  EXPECT_NE(daemon_->Log().find("\t" + id + "\tINFO\thandling {\"k\":2}"), std::string::npos) << daemon_->Log();

  std::tie(printed, value) = Invoke("Js", R"({"fail": "x"})");
  EXPECT_EQ(printed["FunctionError"], "Unhandled") << printed.dump();
  EXPECT_EQ(value["errorType"], "TypeError") << value.dump();
  EXPECT_EQ(value["errorMessage"], "cannot take x");
  ASSERT_TRUE(value["trace"].is_array() && !value["trace"].empty()) << value.dump();
  EXPECT_NE(value["trace"].dump().find("index.js"), std::string::npos) << value.dump();

  std::tie(printed, value) = Invoke("JsCallback", R"({"c": 1})");
  EXPECT_EQ(value, (nlohmann::json{{"via", "callback"}, {"event", {{"c", 1}}}})) << value.dump();

  // From an event, to its destination.
  WriteFile(tmp_ / "f", "x");
  ASSERT_EQ(daemon_->Ctl({"cp", tmp_ / "f", "s3://data/js/a.txt"}).exit_code, 0);
  std::string dir = daemon_->root() + "/buckets/dest/ok/Js";
  ASSERT_TRUE(PipelineDaemon::WaitFor([&] { return !ListDir(dir).empty(); })) << daemon_->Log();
  auto record = nlohmann::json::parse(ReadFile(dir + "/" + ListDir(dir)[0]));
  EXPECT_EQ(record["responsePayload"]["count"], 4) << record.dump();
  EXPECT_EQ(record["responsePayload"]["event"]["detail"]["object"]["key"], "js/a.txt");
}

TEST_F(LambdaRuntimesTest, AProvidedBootstrapSpeaksTheRuntimeApiItself) {
  auto [printed, value] = Invoke("Sh", R"({"n": 7})");
  EXPECT_EQ(printed["StatusCode"], 200) << printed.dump() << daemon_->Log();
  EXPECT_EQ(value["sh"], (nlohmann::json{{"n", 7}})) << value.dump();
  std::string first_id = value["id"];
  std::tie(printed, value) = Invoke("Sh", R"({"n": 8})");
  EXPECT_EQ(value["sh"], (nlohmann::json{{"n", 8}}));
  EXPECT_NE(value["id"], first_id);
  EXPECT_EQ(PipelineDaemon::Count(daemon_->Log(), "provided init ran, handler function.handler"), 1) << daemon_->Log();
  std::tie(printed, value) = Invoke("Sh", R"({"fail": 1})");
  EXPECT_EQ(printed["FunctionError"], "Unhandled") << printed.dump();
  EXPECT_EQ(value, (nlohmann::json{{"errorType", "ShellError"}, {"errorMessage", "asked to fail"}}));
}

// A handler, module or bootstrap that is not there is told at the load —
// by `rules validate` and by a reload, which keeps what runs — with the
// file and the field, not at the first event.
TEST_F(LambdaRuntimesTest, MissingCodeIsReportedAtTheLoadWithItsFileAndField) {
  std::string empty = tmp_ / "empty";
  ::mkdir(empty.c_str(), 0755);
  WriteFile(empty + "/bootstrap", "#!/bin/sh\n");  // not executable
  struct Case {
    std::string function;
    std::string error;
  };
  const std::vector<Case> cases = {
      {R"({"FunctionName": "P", "Runtime": "python3.11", "Handler": "nomodule.handler", "Code": {"Directory": ")" +
           empty + R"("}})",
       "P.json: /Handler: nomodule.handler: no module 'nomodule' in " + empty + " (expected " + empty +
           "/nomodule.py)"},
      {R"({"FunctionName": "P", "Runtime": "nodejs20.x", "Handler": "lib/index.handler", "Code": {"Directory": ")" +
           empty + R"("}})",
       "P.json: /Handler: lib/index.handler: no module 'lib/index'"},
      {R"({"FunctionName": "P", "Runtime": "provided", "Handler": "x", "Code": {"Directory": ")" + empty + R"("}})",
       "P.json: /Code: a provided function's code holds an executable named bootstrap; " + empty +
           "/bootstrap is not executable"},
  };
  for (const Case& c : cases) {
    WriteFile(daemon_->cfg() + "/functions.d/P.json", c.function);
    RunResult v = daemon_->Ctl({"--config-dir", daemon_->cfg(), "rules", "validate"});
    EXPECT_EQ(v.exit_code, 2) << v.out;
    EXPECT_NE(v.err.find(c.error), std::string::npos) << v.err;
    RunResult r = daemon_->Ctl({"reload"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(c.error), std::string::npos) << r.err;
  }
  // The functions in force still run.
  auto [printed, value] = Invoke("Sh", R"({"n": 1})");
  EXPECT_EQ(value["sh"], (nlohmann::json{{"n", 1}})) << value.dump();
  // A target naming no function: a warning with the rule's file and pointer.
  ::unlink((daemon_->cfg() + "/functions.d/P.json").c_str());
  daemon_->AddRule("orphan", "o/", "Nowhere");
  RunResult v = daemon_->Ctl({"--config-dir", daemon_->cfg(), "rules", "validate"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.err.find("warning: " + daemon_->cfg() + "/rules.d/orphan.json: /Targets/0/Arn: rule orphan's target t "
                       "names function 'Nowhere', which functions.d does not define"),
            std::string::npos)
      << v.err;
}

// Layers as Lambda has them: zips published with `bucketctl lambda
// publish-layer-version`, numbered per name, named by their version ARNs
// in a function's Layers; their python/ (and python/lib/pythonX.Y/
// site-packages/), nodejs/node_modules/ and bin/ are where the handler's
// imports and PATH find them, a later layer's before an earlier one's.
TEST_F(LambdaRuntimesTest, LayersPublishedWithBucketctlJoinTheImportPathsAndPathInOrder) {
  // Two layers, as `zip -r` of python/ … makes them (bin/hello keeps its x bit).
  RunResult zipped = bucketd::testing::Run({"/usr/bin/python3", "-c", R"PY(import sys, zipfile
site = "python/lib/python%d.%d/site-packages/" % sys.version_info[:2]
def add(z, name, text, mode=0o644):
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o100000 | mode) << 16
    z.writestr(info, text)
with zipfile.ZipFile(sys.argv[1], "w") as z:
    add(z, "python/greeting.py", "WHO = 'common v1'\n")
    add(z, site + "extra.py", "EXTRA = 'from site-packages'\n")
    add(z, "nodejs/node_modules/greet/index.js", "module.exports = () => 'node layer';\n")
    add(z, "bin/hello", "#!/bin/sh\necho hello from a layer\n", 0o755)
with zipfile.ZipFile(sys.argv[2], "w") as z:
    add(z, "python/greeting.py", "WHO = 'override v1'\n")
)PY", tmp_ / "common.zip", tmp_ / "override.zip"});
  ASSERT_EQ(zipped.exit_code, 0) << zipped.err;
  WriteFile(tmp_ / "garbage.zip", "PK\x03\x04 no zip at all");

  RunResult first = daemon_->Ctl({"lambda", "publish-layer-version", "--layer-name", "common", "--zip-file",
                                  "fileb://" + tmp_ / "common.zip", "--description", "shared code",
                                  "--compatible-runtimes", "python3.11", "nodejs20.x"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto v1 = nlohmann::json::parse(first.out, nullptr, false);
  EXPECT_EQ(v1["Version"], 1) << first.out;
  EXPECT_EQ(v1["LayerVersionArn"], "arn:aws:lambda:local:000000000000:layer:common:1");
  EXPECT_EQ(v1["LayerArn"], "arn:aws:lambda:local:000000000000:layer:common");
  EXPECT_EQ(v1["Description"], "shared code");
  EXPECT_EQ(v1["CompatibleRuntimes"], (nlohmann::json{"python3.11", "nodejs20.x"}));
  EXPECT_EQ(v1["Content"]["CodeSize"], ReadFile(tmp_ / "common.zip").size());
  RunResult sha = bucketd::testing::Run({"/bin/sh", "-c", "openssl dgst -sha256 -binary " + tmp_ / "common.zip" +
                                                              " | base64"});
  EXPECT_EQ(v1["Content"]["CodeSha256"].get<std::string>() + "\n", sha.out);
  RunResult second = daemon_->Ctl({"lambda", "publish-layer-version", "--layer-name", "common", "--zip-file",
                                   "fileb://" + tmp_ / "common.zip"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(nlohmann::json::parse(second.out)["Version"], 2);
  ASSERT_EQ(daemon_->Ctl({"lambda", "publish-layer-version", "--layer-name", "override", "--zip-file",
                          "fileb://" + tmp_ / "override.zip"}).exit_code, 0);
  // A zip that is none: refused with its name, no version made.
  RunResult bad = daemon_->Ctl({"lambda", "publish-layer-version", "--layer-name", "common", "--zip-file",
                                "fileb://" + tmp_ / "garbage.zip"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("(InvalidParameterValueException) when calling the PublishLayerVersion operation: " +
                         tmp_ / "garbage.zip" + ": "),
            std::string::npos)
      << bad.err;
  RunResult listed = daemon_->Ctl({"lambda", "list-layer-versions", "--layer-name", "common"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto versions = nlohmann::json::parse(listed.out)["LayerVersions"];
  ASSERT_EQ(versions.size(), 2u) << listed.out;
  EXPECT_EQ(versions[0]["Version"], 2);
  EXPECT_EQ(versions[1]["LayerVersionArn"], "arn:aws:lambda:local:000000000000:layer:common:1");

  std::string py = tmp_ / "py";
  ::mkdir(py.c_str(), 0755);
  WriteFile(py + "/app.py", R"(import subprocess, greeting, extra
def handler(event, context):
    return {"who": greeting.WHO, "extra": extra.EXTRA,
            "hello": subprocess.run(["hello"], capture_output=True, text=True).stdout.strip()}
)");
  WriteFile(tmp_ / "node/layered.js", "exports.handler = async () => ({greet: require('greet')()});\n");
  const std::string arn = "arn:aws:lambda:local:000000000000:layer:";
  WriteFile(daemon_->cfg() + "/functions.d/PyLayers.json",
            R"({"FunctionName": "PyLayers", "Runtime": "python3.11", "Handler": "app.handler",
                "Code": {"Directory": ")" + py + R"("}, "Layers": [")" + arn + R"(common:1", ")" + arn +
                R"(override:1"]})");
  WriteFile(daemon_->cfg() + "/functions.d/JsLayers.json",
            R"({"FunctionName": "JsLayers", "Runtime": "nodejs20.x", "Handler": "layered.handler",
                "Code": {"Directory": ")" + tmp_ / "node" + R"("}, "Layers": [")" + arn + R"(common:2"]})");
  RunResult reloaded = daemon_->Ctl({"reload"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err << daemon_->Log();
  auto [printed, value] = Invoke("PyLayers", "{}");
  EXPECT_EQ(value, (nlohmann::json{{"who", "override v1"}, {"extra", "from site-packages"},
                                   {"hello", "hello from a layer"}}))
      << value.dump() << daemon_->Log();
  std::tie(printed, value) = Invoke("JsLayers", "{}");
  EXPECT_EQ(value, (nlohmann::json{{"greet", "node layer"}})) << value.dump() << daemon_->Log();

  // A version that was never published, and an ARN that is none: told at
  // the load with the file and the entry; what runs stays.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {arn + "common:9", "PyLayers.json: /Layers/1: " + arn + "common:9: no such layer version"},
      {"arn:aws:lambda:local:000000000000:function:common", "PyLayers.json: /Layers/1: 'arn:aws:lambda:local:"
                                                           "000000000000:function:common': expected a layer version ARN"},
  };
  for (const auto& [layer, error] : cases) {
    WriteFile(daemon_->cfg() + "/functions.d/PyLayers.json",
              R"({"FunctionName": "PyLayers", "Runtime": "python3.11", "Handler": "app.handler",
                  "Code": {"Directory": ")" + py + R"("}, "Layers": [")" + arn + R"(common:1", ")" + layer + R"("]})");
    RunResult v = daemon_->Ctl({"--config-dir", daemon_->cfg(), "rules", "validate"});
    EXPECT_EQ(v.exit_code, 2) << v.out;
    EXPECT_NE(v.err.find(error), std::string::npos) << v.err;
    RunResult r = daemon_->Ctl({"reload"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(error), std::string::npos) << r.err;
  }
  std::tie(printed, value) = Invoke("PyLayers", "{}");
  EXPECT_EQ(value["who"], "override v1") << value.dump();
}

}  // namespace
}  // namespace bucketd::testing
