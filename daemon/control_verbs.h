// The control socket's verbs as one table: each has a name, the request
// fields it reads with their JSON types, and a handler. The table checks
// the types before a handler runs, so a handler never meets a field of the
// wrong type; and no exception leaves HandleControlRequest.
//
// Protocol: docs/control.md. Thread-safety: the main loop's thread.
#ifndef BUCKETD_DAEMON_CONTROL_VERBS_H_
#define BUCKETD_DAEMON_CONTROL_VERBS_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "daemon/control_socket.h"

namespace bucketd::daemon {

class Manager;

enum class FieldType { kString, kInteger, kStringList };

struct ControlField {
  const char* name;
  FieldType type;
};

struct ControlVerb {
  const char* name;
  std::vector<ControlField> fields;  // all optional; others are ignored
  // The answer's fields besides "ok" (true when it returns a value).
  Result<nlohmann::json> (*handler)(Manager& manager, const nlohmann::json& request);
  // Instead of `handler`, for answers that may be large: made page by page.
  ControlReply (*stream)(Manager& manager, const nlohmann::json& request) = nullptr;
};

const std::vector<ControlVerb>& ControlVerbs();

// Checks `request` against its verb and runs it: {"ok":true,…} or
// {"ok":false,"error":"…"} ("<field>: expected <type>" for a wrong type).
// A streamed answer has the same text as the whole one would.
ControlReply HandleControlRequest(Manager& manager, const nlohmann::json& request);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_CONTROL_VERBS_H_
