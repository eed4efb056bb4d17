#include "rules/json_fields.h"

#include <fcntl.h>

#include <algorithm>

#include "common/file_util.h"

namespace bucketd::rules {

Result<std::string> ReadConfigFile(Fs& fs, int dfd, const std::string& name, const std::string& path) {
  ASSIGN_OR_RETURN(FileStat st, fs.StatAt(dfd, name, /*follow=*/true));
  if (st.size > kMaxConfigFileBytes) {
    return Status::InvalidArgument(path + ": the file is " + std::to_string(st.size) +
                                   " bytes; configuration files may be at most " +
                                   std::to_string(kMaxConfigFileBytes) + " bytes (1 MiB)");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs, dfd, name));
  if (text.size() > kMaxConfigFileBytes) {  // grew meanwhile
    return Status::InvalidArgument(path + ": the file is over " + std::to_string(kMaxConfigFileBytes) + " bytes");
  }
  return text;
}

Status JsonFields::Error(const std::string& ptr, const std::string& what) const {
  return Status::InvalidArgument(source_ + ": " + (ptr.empty() ? "/" : ptr) + ": " + what);
}

Status JsonFields::OnlyKeys(const nlohmann::json& obj, const std::string& ptr,
                            std::initializer_list<const char*> allowed) const {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string k = it.key();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Error(ptr + "/" + k, "unknown field; expected one of " + list);
    }
  }
  return Status::OK();
}

Result<std::string> JsonFields::String(const nlohmann::json& obj, const char* key,
                                       const std::string& ptr, bool required) const {
  if (!obj.contains(key)) {
    if (required) return Error(ptr + "/" + key, "required field is missing (a string)");
    return std::string();
  }
  if (!obj[key].is_string()) return Error(ptr + "/" + key, "expected a string");
  return obj[key].get<std::string>();
}

Result<int> JsonFields::Int(const nlohmann::json& obj, const char* key, const std::string& ptr,
                            int lo, int hi, int dflt) const {
  if (!obj.contains(key)) return dflt;
  const auto& v = obj[key];
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Error(ptr + "/" + key, "expected a whole number from " + std::to_string(lo) + " to " +
                                      std::to_string(hi));
  }
  return v.get<int>();
}

Result<std::vector<std::string>> JsonFileNames(Fs& fs, int dfd) {
  ASSIGN_OR_RETURN(auto entries, fs.ReadDir(dfd));
  std::vector<std::string> names;
  for (const auto& e : entries) {
    if (e.name.size() > 5 && e.name.substr(e.name.size() - 5) == ".json" && e.name[0] != '.') {
      names.push_back(e.name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace bucketd::rules
