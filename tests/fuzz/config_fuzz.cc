// libFuzzer target: the configuration loaders — rule files (EventBridge
// rules, arrays of them, S3 notification configurations) and function
// files. Input: one byte that picks the loader, then the file's text. A
// loader may refuse anything; it may not crash, hang or report a sanitizer
// error (issue 13: a type error aborted `rules validate` and bucketd).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/rule.h"
#include "runner/function.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    (void)bucketd::runner::ParseFunctionFile(text, "fuzz-function.json", {"noop", "etl"});
  } else {
    auto rules = bucketd::rules::ParseRuleFile(text, "fuzz-rules.json");
    if (rules.ok()) {
      for (const auto& r : *rules) (void)r.Arn("local", "000000000000");
    }
  }
  return 0;
}
