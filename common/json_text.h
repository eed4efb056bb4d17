// Parsing a configuration file's JSON text with an error a user can act on.
#ifndef BUCKETD_COMMON_JSON_TEXT_H_
#define BUCKETD_COMMON_JSON_TEXT_H_

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace bucketd {

// The JSON value of `text`; InvalidArgument "<name>: invalid JSON at byte N: …"
// when it is not JSON (never an exception).
Result<nlohmann::json> ParseJsonText(const std::string& text, const std::string& name);

}  // namespace bucketd

#endif  // BUCKETD_COMMON_JSON_TEXT_H_
