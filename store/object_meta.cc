#include "store/object_meta.h"

#include <cctype>

#include "common/md5.h"
#include <nlohmann/json.hpp>

namespace bucketd::store {

namespace {

constexpr int kVersion = 2;

nlohmann::json Unsealed(const StoredMeta& m) {
  nlohmann::json j = {{"v", kVersion},
                      {"size", m.size},
                      {"mtime_ns", m.mtime_ns},
                      {"etag", m.etag},
                      {"content_type", m.content_type},
                      {"meta", m.user_metadata}};
  if (m.folder) j["folder"] = true;
  // Only when set, so that records written before they existed keep their seal.
  if (!m.headers.empty()) j["headers"] = m.headers;
  if (!m.caller.empty()) j["caller"] = m.caller;
  if (!m.tags.empty()) j["tags"] = m.tags;
  return j;
}

// What the MAC covers: the file's identity and the record in its one
// canonical encoding (nlohmann writes object members in sorted order).
std::string Seal(const nlohmann::json& unsealed, const FileStat& file, std::string_view key) {
  std::string covered = "bucketd object metadata v2\n" + std::to_string(file.ino) + "\n" +
                        std::to_string(file.btime_ns) + "\n" + unsealed.dump();
  return HexEncode(HmacSha256(key, covered));
}

}  // namespace

std::string EncodeMeta(const StoredMeta& m, const FileStat& file, std::string_view key) {
  nlohmann::json j = Unsealed(m);
  if (!key.empty()) j["mac"] = Seal(j, file, key);
  return j.dump();
}

Result<StoredMeta> DecodeMeta(std::string_view text, const FileStat& file, std::string_view key) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Corruption("metadata attribute is not a JSON object");
  }
  // An uploader writes whatever it likes here: a "v" that is no number must
  // be a refusal, not value()'s type_error.
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != kVersion) {
    return Status::Corruption("metadata attribute has an older or unknown version");
  }
  StoredMeta m;
  try {
    m.size = j.at("size").get<uint64_t>();
    m.mtime_ns = j.at("mtime_ns").get<int64_t>();
    m.etag = j.at("etag").get<std::string>();
    m.content_type = j.value("content_type", std::string());
    m.user_metadata = j.value("meta", std::map<std::string, std::string>());
    m.folder = j.value("folder", false);
    m.headers = j.value("headers", std::map<std::string, std::string>());
    m.caller = j.value("caller", std::string());
    m.tags = j.value("tags", std::map<std::string, std::string>());
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("metadata attribute: ") + e.what());
  }
  auto mac = j.find("mac");
  if (key.empty()) return Status::Corruption("metadata attribute cannot be verified without the metadata key");
  if (mac == j.end() || !mac->is_string()) return Status::Corruption("metadata attribute is not sealed");
  // Re-encoded from the parsed fields, so members bucketd does not know (or
  // writes differently) make the seal fail rather than ride along.
  if (!ConstantTimeEquals(mac->get<std::string>(), Seal(Unsealed(m), file, key))) {
    return Status::Corruption("metadata attribute's seal does not match (not written by bucketd for this file)");
  }
  return m;
}

Result<StoredMeta> VerifiedMetaCache::Decode(std::string_view text, const FileStat& file, std::string_view key) {
  std::string id = std::to_string(file.ino) + "/" + std::to_string(file.btime_ns) + "/";
  id.append(text);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = verified_.find(id); it != verified_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(StoredMeta meta, DecodeMeta(text, file, key));
  std::lock_guard<std::mutex> lock(mu_);
  if (verified_.size() >= kMaxEntries) verified_.clear();  // cheaper than an LRU, and rare
  verified_.emplace(std::move(id), meta);
  return meta;
}

Status ValidateUserMetadata(std::map<std::string, std::string>* md) {
  std::map<std::string, std::string> out;
  size_t total = 0;
  for (const auto& [name, value] : *md) {
    std::string lower;
    for (char c : name) {
      unsigned char u = static_cast<unsigned char>(c);
      bool token = std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
      if (!token) {
        return Status::InvalidArgument("user metadata name '" + name +
                                       "' has a character not allowed in an HTTP header name");
      }
      lower.push_back(static_cast<char>(std::tolower(u)));
    }
    if (lower.empty()) return Status::InvalidArgument("user metadata name is empty");
    for (char c : value) {
      if (c == '\n' || c == '\r' || c == '\0') {
        return Status::InvalidArgument("user metadata '" + name + "' has a line break or NUL");
      }
    }
    total += lower.size() + value.size();
    out[lower] = value;
  }
  if (total > 2048) {
    return Status::InvalidArgument("user metadata is " + std::to_string(total) +
                                   " bytes; S3 allows at most 2048");
  }
  *md = std::move(out);
  return Status::OK();
}

}  // namespace bucketd::store
