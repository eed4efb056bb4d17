#include "runner/layers.h"

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/file_util.h"
#include "common/md5.h"
#include "common/time_format.h"
#include "rules/rule.h"
#include "runner/code_package.h"

namespace bucketd::runner {
namespace {

using nlohmann::json;

constexpr int kMaxPublishTries = 100;

std::string LayersDir(const std::string& state_dir) { return AbsoluteStateDir(state_dir) + "/lambda/layers"; }

// Lambda's layer names: 1 to 140 letters, digits, '-' or '_'.
bool ValidLayerName(const std::string& s) {
  if (s.empty() || s.size() > 140) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

// "12" → 12; anything else (also "012") → 0.
int VersionNumber(std::string_view s) {
  int n = 0;
  if (s.empty() || s.size() > 9 || s[0] == '0') return 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  return ec == std::errc() && end == s.data() + s.size() ? n : 0;
}

json ToJson(const LayerVersion& v) {
  return {{"Name", v.name},
          {"Version", v.version},
          {"Description", v.description},
          {"CompatibleRuntimes", v.compatible_runtimes},
          {"CodeSha256", v.code_sha256},
          {"CodeSize", v.code_size},
          {"CreatedNs", v.created_ns}};
}

Result<LayerVersion> ReadVersion(Env& env, const std::string& layer_dir, const std::string& name, int version) {
  std::string file = layer_dir + "/" + std::to_string(version) + ".json";
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(env.fs(), AT_FDCWD, file));
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::Corruption(file + ": expected a layer version's JSON object");
  LayerVersion v;
  v.name = name;
  v.version = version;
  v.directory = layer_dir + "/" + std::to_string(version);
  try {  // a field of the wrong type (the file edited by hand) is the file's error
    v.description = j.value("Description", "");
    v.compatible_runtimes = j.value("CompatibleRuntimes", std::vector<std::string>{});
    v.code_sha256 = j.value("CodeSha256", "");
    v.code_size = j.value("CodeSize", uint64_t{0});
    v.created_ns = j.value("CreatedNs", int64_t{0});
  } catch (const json::exception& e) {
    return Status::Corruption(file + ": " + e.what());
  }
  return v;
}

// The version numbers under a layer's directory: the published ones
// (with their .json) when `published_only`, else every directory too.
Result<std::vector<int>> Versions(Env& env, const std::string& layer_dir, bool published_only) {
  std::vector<int> out;
  auto dfd = env.fs().OpenAt(AT_FDCWD, layer_dir, O_RDONLY | O_DIRECTORY, 0);
  if (!dfd.ok()) {
    if (dfd.status().IsNotFound()) return out;
    return dfd.status();
  }
  ASSIGN_OR_RETURN(auto entries, env.fs().ReadDir(dfd->get()));
  for (const auto& e : entries) {
    std::string_view n = e.name;
    bool meta = n.size() > 5 && n.substr(n.size() - 5) == ".json";
    if (published_only != meta) continue;
    if (int v = VersionNumber(meta ? n.substr(0, n.size() - 5) : n); v > 0) out.push_back(v);
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

Result<LayerVersion> PublishLayerVersion(Env& env, const std::string& state_dir, const std::string& name,
                                         std::string_view zip, const std::string& source,
                                         const std::string& description,
                                         const std::vector<std::string>& compatible_runtimes) {
  if (!ValidLayerName(name)) {
    return Status::InvalidArgument("--layer-name '" + name.substr(0, 200) +
                                   "': expected 1 to 140 letters, digits, '-' or '_'");
  }
  if (description.size() > 256) return Status::InvalidArgument("--description: at most 256 characters");
  std::string layer_dir = LayersDir(state_dir) + "/" + name;
  LayerVersion v;
  v.name = name;
  v.description = description;
  v.compatible_runtimes = compatible_runtimes;
  Digest sha(Digest::Algorithm::kSha256);
  sha.Update(zip);
  v.code_sha256 = Base64Encode(sha.Final());
  v.code_size = zip.size();
  // The next number is claimed by the rename that makes its directory: two
  // publishers at once get two versions.
  for (int tries = 0;; ++tries) {
    ASSIGN_OR_RETURN(std::vector<int> taken, Versions(env, layer_dir, /*published_only=*/false));
    v.version = taken.empty() ? 1 : taken.front() + 1;
    auto dir = UnpackVersion(layer_dir, std::to_string(v.version), zip, source, kNewVersionOnly);
    if (dir.ok()) {
      v.directory = *dir;
      break;
    }
    if (!dir.status().IsAlreadyExists() || tries >= kMaxPublishTries) return dir.status();
  }
  v.created_ns = env.clock().NowNanos();
  RETURN_IF_ERROR(
      WriteFileAtomically(env.fs(), layer_dir, std::to_string(v.version) + ".json", ToJson(v).dump(), 0644));
  return v;
}

Result<std::vector<LayerVersion>> ListLayerVersions(Env& env, const std::string& state_dir, const std::string& name) {
  std::vector<LayerVersion> out;
  if (!ValidLayerName(name)) return out;
  std::string layer_dir = LayersDir(state_dir) + "/" + name;
  ASSIGN_OR_RETURN(std::vector<int> versions, Versions(env, layer_dir, /*published_only=*/true));
  for (int n : versions) {
    ASSIGN_OR_RETURN(LayerVersion v, ReadVersion(env, layer_dir, name, n));
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::pair<std::string, int>> ParseLayerVersionArn(const std::string& arn) {
  std::vector<std::string> parts = rules::ArnParts(arn);
  int version = parts.size() == 8 ? VersionNumber(parts[7]) : 0;
  if (parts.size() != 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "layer" ||
      !ValidLayerName(parts[6]) || version == 0) {
    return Status::InvalidArgument("'" + arn.substr(0, 300) +
                                   "': expected a layer version ARN, arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N");
  }
  return std::make_pair(parts[6], version);
}

Status ResolveLayers(Env& env, const std::string& state_dir, Function* fn) {
  fn->layer_directories.clear();
  for (size_t i = 0; i < fn->layers.size(); ++i) {
    std::string where = fn->source + ": /Layers/" + std::to_string(i);
    auto parsed = ParseLayerVersionArn(fn->layers[i]);
    if (!parsed.ok()) return Status::InvalidArgument(where + ": " + parsed.status().message());
    auto v = ReadVersion(env, LayersDir(state_dir) + "/" + parsed->first, parsed->first, parsed->second);
    if (!v.ok()) {
      if (!v.status().IsNotFound()) return Status(v.status().code(), where + ": " + v.status().message());
      return Status::NotFound(where + ": " + fn->layers[i] + ": no such layer version in " + LayersDir(state_dir) +
                              " (publish it with bucketctl lambda publish-layer-version --layer-name " +
                              parsed->first + " --zip-file fileb://LAYER.zip)");
    }
    fn->layer_directories.push_back(v->directory);
  }
  return Status::OK();
}

json LayerVersionJson(const LayerVersion& v, const std::string& region, const std::string& account) {
  std::string layer_arn = "arn:aws:lambda:" + region + ":" + account + ":layer:" + v.name;
  return {{"Content", {{"Location", "file://" + v.directory}, {"CodeSha256", v.code_sha256}, {"CodeSize", v.code_size}}},
          {"LayerArn", layer_arn},
          {"LayerVersionArn", layer_arn + ":" + std::to_string(v.version)},
          {"Description", v.description},
          {"CreatedDate", FormatUtc(v.created_ns, "%Y-%m-%dT%H:%M:%S.000+0000")},
          {"Version", v.version},
          {"CompatibleRuntimes", v.compatible_runtimes}};
}

}  // namespace bucketd::runner
