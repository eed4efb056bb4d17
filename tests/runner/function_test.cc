#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/env.h"
#include "runner/function.h"
#include "tests/test_util.h"

namespace bucketd::runner {
namespace {

const std::set<std::string> kBuiltins = {"noop", "extract"};

TEST(FunctionFileTest, ReadsCreateFunctionsShape) {
  auto f = ParseFunctionFile(R"({"FunctionName": "RunNotebook", "Runtime": "exec",
      "Handler": "/usr/lib/bucketd/run", "Timeout": 900, "MemorySize": 2048,
      "WorkingDirectory": "/srv", "Environment": {"Variables": {"STAGE": "etl"}},
      "ReservedConcurrentExecutions": 1,
      "DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:s3:::notes/ok/"},
                            "OnFailure": {"Destination": "arn:aws:lambda:eu-west-1:1:function:Mail"}}})",
                             "f.json", kBuiltins);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->name, "RunNotebook");
  EXPECT_EQ(f->runtime, Runtime::kExec);
  EXPECT_EQ(f->timeout_seconds, 900);
  EXPECT_EQ(f->memory_mb, 2048);
  EXPECT_EQ(f->environment.at("STAGE"), "etl");
  EXPECT_EQ(f->reserved_concurrency, 1);
  EXPECT_EQ(f->on_success->bucket, "notes");
  EXPECT_EQ(f->on_success->prefix, "ok/");
  EXPECT_EQ(f->on_failure->function, "Mail");
  auto py = ParseFunctionFile(
      R"({"FunctionName":"P","Runtime":"python3.11","Handler":"app.lambda_handler","Code":{"Directory":"/srv/p"}})",
      "p.json", kBuiltins);
  ASSERT_TRUE(py.ok()) << py.status().ToString();
  EXPECT_EQ(py->runtime, Runtime::kPython);
  EXPECT_EQ(py->code_directory, "/srv/p");
  EXPECT_EQ(py->memory_mb, 128) << "Lambda's default";
  auto zipped = ParseFunctionFile(R"({"FunctionName":"Z","Runtime":"python3.11","Handler":"app.h",
      "Code":{"S3Bucket":"code","S3Key":"fn/app.zip"},"Role":"arn:aws:iam::000000000000:role/service/reader"})",
                                  "z.json", kBuiltins);
  ASSERT_TRUE(zipped.ok()) << zipped.status().ToString();
  EXPECT_EQ(zipped->code_s3_bucket, "code");
  EXPECT_EQ(zipped->code_s3_key, "fn/app.zip");
  EXPECT_EQ(zipped->role, "arn:aws:iam::000000000000:role/service/reader");
  auto dflt = ParseFunctionFile(R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop"})", "g.json", kBuiltins);
  ASSERT_TRUE(dflt.ok());
  EXPECT_EQ(dflt->timeout_seconds, 3) << "Lambda's default";
  EXPECT_FALSE(dflt->reserved_concurrency.has_value());
}

TEST(FunctionFileTest, ErrorsNameTheFileTheFieldAndWhatWasExpected) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {R"({"FunctionName":"X","Runtime":"ruby3.3","Handler":"a"})", "f.json: /Runtime: expected \"python3.x\" or \"nodejs…\""},
      {R"({"FunctionName":"X","Runtime":"nodejs20.x","Handler":"a"})", "f.json: /Handler: expected FILE.EXPORT"},
      {R"({"FunctionName":"X","Runtime":"provided.al2023","Handler":"a"})", "f.json: /Code: expected {\"Directory\""},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","MaximumRetryAttempts":3})",
       "f.json: /MaximumRetryAttempts: "},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","MaximumEventAgeInSeconds":59})",
       "f.json: /MaximumEventAgeInSeconds: "},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"a"})", "f.json: /Handler: expected MODULE.FUNCTION"},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"app.h"})", "f.json: /Code: expected {\"Directory\""},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"app.h","Code":{"Directory":"rel"}})",
       "f.json: /Code/Directory: expected an absolute path"},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"app.h","Code":{"ZipFile":"z.zip"}})",
       "f.json: /Code/ZipFile: expected an absolute path"},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"app.h","Code":{"ZipFile":"/z","Directory":"/d"}})",
       "f.json: /Code: expected {\"Directory\": \"/absolute/path\"}, {\"ZipFile\""},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"app.h","Code":{"S3Bucket":"b"}})",
       "f.json: /Code/S3Key: "},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"app.h","Code":{"S3Bucket":"B!","S3Key":"k"}})",
       "f.json: /Code/S3Bucket: "},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"app.h","Code":{"S3Bucket":"b","S3Key":"k","S3ObjectVersion":"1"}})",
       "f.json: /Code/S3ObjectVersion: bucketd keeps one version"},
      {R"({"FunctionName":"X","Runtime":"python3.12","Handler":"app.h","Code":{"S3Bucket":"b","S3Key":"k","Bucket":"x"}})",
       "f.json: /Code/Bucket: unknown field"},
      {R"({"FunctionName":"X","Runtime":"exec","Handler":"/bin/true","Code":{"Directory":"/d"}})",
       "f.json: /Code: only a Lambda runtime's function has Code"},
      {R"({"FunctionName":"X","Runtime":"exec","Handler":"run.sh"})", "f.json: /Handler: expected the program's absolute path"},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"train"})", "f.json: /Handler: expected a built-in stage (extract, noop)"},
      {R"({"FunctionName":"a b","Runtime":"builtin","Handler":"noop"})", "f.json: /FunctionName: expected 1 to 64 letters"},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","Timeout":0})", "f.json: /Timeout: expected a whole number from 1"},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","Environment":{"Variables":{"BUCKETD_ROOT":"/"}}})",
       "f.json: /Environment/Variables/BUCKETD_ROOT: BUCKETD_* variables are set by bucketd"},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","DestinationConfig":{"OnFailure":{"Destination":"arn:aws:sqs:r:1:q"}}})",
       "f.json: /DestinationConfig/OnFailure/Destination: 'arn:aws:sqs:r:1:q' is neither a store prefix"},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","Role":"r"})",
       "f.json: /Role: expected a role ARN, arn:aws:iam::ACCOUNT:role/NAME"},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","Role":"arn:aws:iam::12345678901:role/r"})",
       "f.json: /Role: expected a role ARN"},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","Role":"arn:aws:iam::123456789012:user/r"})",
       "f.json: /Role: expected a role ARN"},
      {R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop","Roles":"r"})", "f.json: /Roles: unknown field"},
      {R"({"FunctionName":"X",)", "f.json: line 1, column"},
  };
  for (const auto& c : cases) {
    auto f = ParseFunctionFile(c.text, "f.json", kBuiltins);
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_NE(f.status().message().find(c.error), std::string::npos) << f.status().message();
  }
}

TEST(FunctionFileTest, ADirectoryDefiningANameTwiceIsRefused) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "a.json", R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop"})");
  testing::WriteFile(tmp / "b.json", R"({"FunctionName":"X","Runtime":"builtin","Handler":"noop"})");
  auto set = LoadFunctionsDir(Env::Default(), tmp.path(), kBuiltins);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(), tmp / "b.json" + ": function name 'X' is already used in " + tmp / "a.json");
  auto none = LoadFunctionsDir(Env::Default(), tmp / "missing", kBuiltins);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(FunctionFileTest, DeepNestingAndHugeFilesAreRefusedWithClearErrors) {
  std::string deep = R"({"FunctionName":"F","Runtime":"builtin","Handler":"noop","Environment":)" +
                     std::string(5000, '[') + std::string(5000, ']') + "}";
  auto f = ParseFunctionFile(deep, "deep.json", kBuiltins);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("deep.json: line 1, column "), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find("nested deeper than 100 levels"), std::string::npos);
  testing::TempDir tmp;
  testing::WriteFile(tmp / "huge.json", std::string(1'100'000, ' '));
  auto dir = LoadFunctionsDir(Env::Default(), tmp.path(), kBuiltins);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("huge.json: the file is 1100000 bytes"), std::string::npos)
      << dir.status().message();
}

}  // namespace
}  // namespace bucketd::runner
