#include "daemon/config_file.h"

#include "common/file_util.h"
#include "common/json_text.h"
#include "http/server.h"

#include <fcntl.h>

#include <nlohmann/json.hpp>

namespace bucketd::daemon {

Status LoadConfigFile(Env& env, const std::string& config_dir, FileConfig* config) {
  events::EventPlaneOptions* o = &config->plane;
  if (config_dir.empty()) return Status::OK();
  std::string path = config_dir + "/bucketd.json";
  auto text = ReadFileToString(env.fs(), AT_FDCWD, path);
  if (!text.ok()) return text.status().IsNotFound() ? Status::OK() : text.status();
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonText(*text, path));
  auto bad = [&](const std::string& pointer, const std::string& expected) {
    return Status::InvalidArgument(path + ": at " + pointer + ": expected " + expected);
  };
  if (!j.is_object()) return bad("/", "an object");
  for (const auto& [name, value] : j.items()) {
    if (name != "Trail" && name != "Schedules" && name != "Runner" && name != "Api") {
      return bad("/" + name, "\"Trail\", \"Schedules\", \"Runner\" or \"Api\"");
    }
  }
  if (j.contains("Api")) {
    const auto& a = j["Api"];
    if (!a.is_object()) return bad("/Api", "an object");
    for (const auto& [name, value] : a.items()) {
      if (name == "Tls") {
        if (!value.is_boolean()) return bad("/Api/Tls", "true or false");
        config->api_tls = value.get<bool>();
        continue;
      }
      if (name != "Listen") return bad("/Api/" + name, "\"Listen\" or \"Tls\"");
      if (!value.is_string() || !http::ParseListenAddress(value.get<std::string>()).ok()) {
        return bad("/Api/Listen", "\"ADDR:PORT\", such as \"127.0.0.1:4566\"");
      }
      config->api_listen = value.get<std::string>();
    }
  }
  if (j.contains("Runner")) {
    const auto& r = j["Runner"];
    if (!r.is_object()) return bad("/Runner", "an object");
    for (const auto& [name, value] : r.items()) {
      std::string ptr = "/Runner/" + name;
      int64_t max = name == "Workers" ? 256 : 86400;
      if (!value.is_number_unsigned() || value.get<int64_t>() < 1 || value.get<int64_t>() > max) {
        return bad(ptr, "a whole number from 1 to " + std::to_string(max));
      }
      int64_t v = value.get<int64_t>();
      if (name == "Workers") {
        config->runner.workers = static_cast<int>(v);
      } else if (name == "RetryBaseSeconds") {
        config->runner.retry_base_ns = v * 1'000'000'000;
      } else if (name == "RetryMaxSeconds") {
        config->runner.retry_max_ns = v * 1'000'000'000;
      } else if (name == "KillGraceSeconds") {
        config->runner.kill_grace_ns = v * 1'000'000'000;
      } else {
        return bad(ptr, "one of Workers, RetryBaseSeconds, RetryMaxSeconds, KillGraceSeconds");
      }
    }
  }
  if (j.contains("Schedules")) {
    const auto& sc = j["Schedules"];
    if (!sc.is_object()) return bad("/Schedules", "an object");
    for (const auto& [name, value] : sc.items()) {
      if (name != "Persistent") return bad("/Schedules/" + name, "only \"Persistent\"");
      if (!value.is_boolean()) return bad("/Schedules/Persistent", "true or false");
      config->schedules_persistent = value.get<bool>();
    }
  }
  if (!j.contains("Trail")) return Status::OK();
  const auto& t = j["Trail"];
  if (!t.is_object()) return bad("/Trail", "an object");
  for (const auto& [name, value] : t.items()) {
    std::string ptr = "/Trail/" + name;
    if (name == "Bucket" || name == "Prefix" || name == "Account" || name == "Region") {
      if (!value.is_string()) return bad(ptr, "a string");
      std::string v = value.get<std::string>();
      if (name == "Bucket") {
        Status s = store::ValidateBucketName(v);
        if (!s.ok()) return bad(ptr, "a valid bucket name (" + s.message() + ")");
        o->trail_bucket = v;
      } else if (name == "Prefix") {
        o->trail_prefix = v;
      } else if (name == "Account") {
        if (v.size() != 12 || v.find_first_not_of("0123456789") != std::string::npos) {
          return bad(ptr, "a 12-digit account id");
        }
        o->identity.account = v;
      } else {
        o->identity.region = v;
      }
    } else if (name == "SealedRetentionDays" || name == "LocalRetentionDays") {
      if (!value.is_number_unsigned() || value.get<int64_t>() < 1) {
        return bad(ptr, "a whole number of days, at least 1");
      }
      int64_t ns = value.get<int64_t>() * 24 * 3600 * 1'000'000'000LL;
      (name == "SealedRetentionDays" ? o->sealed_retention_ns : o->local_retention_ns) = ns;
    } else {
      return bad(ptr, "one of Bucket, Prefix, Account, Region, SealedRetentionDays, "
                      "LocalRetentionDays");
    }
  }
  return Status::OK();
}

}  // namespace bucketd::daemon
