#include "common/json_text.h"

namespace bucketd {

Result<nlohmann::json> ParseJsonText(const std::string& text, const std::string& name) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::InvalidArgument(name + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {  // e.g. a number out of range
    return Status::InvalidArgument(name + ": invalid JSON: " + e.what());
  }
}

}  // namespace bucketd
