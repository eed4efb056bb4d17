// Reading configuration objects field by field with errors that name the
// file, the JSON pointer and what was expected — shared by rule files
// (rules/) and function files (runner/).
#ifndef BUCKETD_RULES_JSON_FIELDS_H_
#define BUCKETD_RULES_JSON_FIELDS_H_

#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.h"
#include "common/status.h"

namespace bucketd::rules {

class JsonFields {
 public:
  explicit JsonFields(std::string source) : source_(std::move(source)) {}

  // InvalidArgument "<source>: <pointer>: <what>".
  Status Error(const std::string& ptr, const std::string& what) const;
  // Every key of `obj` is one of `allowed`.
  Status OnlyKeys(const nlohmann::json& obj, const std::string& ptr,
                  std::initializer_list<const char*> allowed) const;
  // obj[key] as a string; "" when absent and not required.
  Result<std::string> String(const nlohmann::json& obj, const char* key, const std::string& ptr,
                             bool required) const;
  // obj[key] as a whole number in [lo, hi]; dflt when absent.
  Result<int> Int(const nlohmann::json& obj, const char* key, const std::string& ptr, int lo,
                  int hi, int dflt) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

// A configuration file's text (a rule, notification or function file);
// InvalidArgument naming `path` when it is over kMaxConfigFileBytes.
inline constexpr uint64_t kMaxConfigFileBytes = 1 << 20;
Result<std::string> ReadConfigFile(Fs& fs, int dfd, const std::string& name, const std::string& path);

// The names of the *.json files in the directory `dfd` (no hidden files),
// sorted: the order configuration directories are read in.
Result<std::vector<std::string>> JsonFileNames(Fs& fs, int dfd);

}  // namespace bucketd::rules

#endif  // BUCKETD_RULES_JSON_FIELDS_H_
