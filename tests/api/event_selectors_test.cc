// The event selectors file: CloudTrail's put-event-selectors JSON, which
// reads it selects, and errors that name the file and the place.
#include "api/event_selectors.h"

#include <gtest/gtest.h>

namespace bucketd::api {
namespace {

TEST(EventSelectorsTest, ReadSelectorsChooseObjectsByArnPrefix) {
  auto s = ParseEventSelectors(R"([
      {"ReadWriteType": "ReadOnly", "IncludeManagementEvents": false,
       "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::logs/2026/", "arn:aws:s3:::raw/"]}]},
      {"ReadWriteType": "WriteOnly",
       "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::writes/"]}]},
      {"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}])",
                               "sel.json");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->RecordsReadOf("arn:aws:s3:::logs/2026/01/a"));
  EXPECT_TRUE(s->RecordsReadOf("arn:aws:s3:::raw/x"));
  EXPECT_FALSE(s->RecordsReadOf("arn:aws:s3:::logs/2025/a"));
  EXPECT_FALSE(s->RecordsReadOf("arn:aws:s3:::rawer/x"));
  EXPECT_FALSE(s->RecordsReadOf("arn:aws:s3:::writes/x")) << "a WriteOnly selector records no reads";
}

TEST(EventSelectorsTest, GetEventSelectorsOutputAndTheWholeServiceAreAccepted) {
  auto s = ParseEventSelectors(R"({"TrailARN": "arn:aws:cloudtrail:local:000000000000:trail/t", "EventSelectors": [
      {"ReadWriteType": "All", "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]})",
                               "sel.json");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->RecordsReadOf("arn:aws:s3:::any/key"));
}

TEST(EventSelectorsTest, ErrorsNameTheFileThePlaceAndWhatWasExpected) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {R"([{"ReadWriteType": "Reads"}])", "sel.json: at /0/ReadWriteType: expected \"All\", \"ReadOnly\" or \"WriteOnly\""},
      {R"([{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["logs/"]}]}])",
       "sel.json: at /0/DataResources/0/Values/0: expected an ARN string"},
      {R"([{"ReadWrite": "All"}])", "sel.json: at /0/ReadWrite: expected ReadWriteType"},
      {R"({"Selectors": []})", "sel.json: at /: expected an array of event selectors"},
      {R"([{"DataResources": [{"Type": "AWS::S3::Object"}]}])", "sel.json: at /0/DataResources/0/Values: expected"},
      {"[{", "sel.json: invalid JSON at byte 3"},
  };
  for (const Case& c : cases) {
    auto s = ParseEventSelectors(c.text, "sel.json");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().message().rfind(c.message, 0), 0u) << s.status().message();
  }
}

}  // namespace
}  // namespace bucketd::api
