// The trail's event selectors: which read calls through the endpoint are
// recorded. The file is `aws cloudtrail put-event-selectors`' JSON, at
// <config-dir>/event-selectors.json:
//   [{"ReadWriteType": "All" | "ReadOnly" | "WriteOnly",
//     "DataResources": [{"Type": "AWS::S3::Object",
//                        "Values": ["arn:aws:s3:::bucket/prefix"]}]}]
// (or get-event-selectors' {"EventSelectors": [...]}). A value is an ARN
// prefix: "arn:aws:s3" (every object), "arn:aws:s3:::bucket/" (a bucket),
// "arn:aws:s3:::bucket/prefix". Without the file no read is recorded.
//
// Writes are recorded whatever the selectors say: their records are what
// rules fire on (docs/api.md says so).
//
// Thread-safety: SelectorsFile may be used from any thread.
#ifndef BUCKETD_API_EVENT_SELECTORS_H_
#define BUCKETD_API_EVENT_SELECTORS_H_

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/file_util.h"
#include "common/status.h"

namespace bucketd::api {

struct EventSelectors {
  // The ARN prefixes whose reads are recorded.
  std::vector<std::string> read_prefixes;
  bool RecordsReadOf(const std::string& object_arn) const;
};

// Parses the file's text; `name` names it in errors ("<name>: at
// /0/ReadWriteType: expected …").
Result<EventSelectors> ParseEventSelectors(const std::string& text, const std::string& name);

// <config-dir>/event-selectors.json, re-read when it changes. A damaged file
// is logged once and records no reads until it is fixed.
class SelectorsFile {
 public:
  SelectorsFile(Env& env, std::string path, std::function<void(const std::string&)> log_warning);
  bool RecordsReadOf(const std::string& object_arn);

 private:
  Env& env_;
  std::function<void(const std::string&)> log_warning_;
  std::mutex mu_;
  FileWatch watch_;
  EventSelectors selectors_;
};

}  // namespace bucketd::api

#endif  // BUCKETD_API_EVENT_SELECTORS_H_
