#include "api/event_selectors.h"

#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/json_text.h"

namespace bucketd::api {
namespace {

using nlohmann::json;

Status Bad(const std::string& name, const std::string& pointer, const std::string& expected) {
  return Status::InvalidArgument(name + ": at " + pointer + ": expected " + expected);
}

}  // namespace

bool EventSelectors::RecordsReadOf(const std::string& object_arn) const {
  for (const std::string& p : read_prefixes) {
    if (object_arn.compare(0, p.size(), p) == 0) return true;
  }
  return false;
}

Result<EventSelectors> ParseEventSelectors(const std::string& text, const std::string& name) {
  ASSIGN_OR_RETURN(json j, ParseJsonText(text, name));
  std::string base;
  if (j.is_object() && j.contains("EventSelectors")) {
    j = j["EventSelectors"];
    base = "/EventSelectors";
  }
  if (!j.is_array()) return Bad(name, base.empty() ? "/" : base, "an array of event selectors");
  EventSelectors out;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& s = j[i];
    std::string at = base + "/" + std::to_string(i);
    if (!s.is_object()) return Bad(name, at, "an object");
    for (const auto& [field, value] : s.items()) {
      if (field != "ReadWriteType" && field != "IncludeManagementEvents" && field != "DataResources" &&
          field != "ExcludeManagementEventSources") {
        return Bad(name, at + "/" + field,
                   "ReadWriteType, IncludeManagementEvents, DataResources or ExcludeManagementEventSources");
      }
    }
    std::string rw = "All";
    if (s.contains("ReadWriteType")) {
      const json& v = s["ReadWriteType"];
      if (!v.is_string() || (v != "All" && v != "ReadOnly" && v != "WriteOnly")) {
        return Bad(name, at + "/ReadWriteType", "\"All\", \"ReadOnly\" or \"WriteOnly\"");
      }
      rw = v.get<std::string>();
    }
    if (!s.contains("DataResources")) continue;
    const json& resources = s["DataResources"];
    if (!resources.is_array()) return Bad(name, at + "/DataResources", "an array");
    for (size_t r = 0; r < resources.size(); ++r) {
      const json& d = resources[r];
      std::string rat = at + "/DataResources/" + std::to_string(r);
      if (!d.is_object() || !d.contains("Type") || !d["Type"].is_string()) {
        return Bad(name, rat, "an object with a Type");
      }
      if (!d.contains("Values") || !d["Values"].is_array()) return Bad(name, rat + "/Values", "an array of ARNs");
      bool s3 = d["Type"] == "AWS::S3::Object";
      for (size_t v = 0; v < d["Values"].size(); ++v) {
        const json& arn = d["Values"][v];
        if (!arn.is_string() || arn.get<std::string>().rfind("arn:", 0) != 0) {
          return Bad(name, rat + "/Values/" + std::to_string(v), "an ARN string (arn:aws:s3:::bucket/prefix)");
        }
        if (s3 && rw != "WriteOnly") out.read_prefixes.push_back(arn.get<std::string>());
      }
    }
  }
  return out;
}

SelectorsFile::SelectorsFile(Env& env, std::string path, std::function<void(const std::string&)> log_warning)
    : env_(env), log_warning_(std::move(log_warning)), watch_(std::move(path)) {}

bool SelectorsFile::RecordsReadOf(const std::string& object_arn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (watch_.path().empty()) return false;
  auto changed = watch_.Changed(env_.fs(), env_.clock().NowNanos());
  if (changed.ok() && *changed) {
    selectors_ = {};  // gone, or until it parses
    if (watch_.exists()) {
      auto text = ReadFileToString(env_.fs(), AT_FDCWD, watch_.path());
      auto parsed = text.ok() ? ParseEventSelectors(*text, watch_.path()) : Result<EventSelectors>(text.status());
      if (parsed.ok()) {
        selectors_ = std::move(*parsed);
      } else if (log_warning_) {
        log_warning_("event selectors not in force, no read is recorded: " + parsed.status().message());
      }
    }
  }
  return selectors_.RecordsReadOf(object_arn);
}

}  // namespace bucketd::api
