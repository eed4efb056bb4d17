// Requests bucketctl leaves in the queue's runner_commands table for the
// running daemon (dlq redrive, replay); applied from the main loop, the
// result written back for bucketctl to print.
#ifndef BUCKETD_DAEMON_RUNNER_COMMANDS_H_
#define BUCKETD_DAEMON_RUNNER_COMMANDS_H_

#include "events/trail.h"
#include "rules/router.h"
#include "runner/runner.h"

namespace bucketd::daemon {

// One request ("redrive" {"ids": [...]}, or "replay" {"rule", "from_ns",
// "to_ns", "name"}); the answer, or {"error": "..."}.
nlohmann::json RunnerRequest(const std::string& kind, const nlohmann::json& args, events::Trail& trail,
                             rules::Router& router, runner::Runner& runner);

// Applies every pending command; errors become the command's result.
void ApplyRunnerCommands(Env& env, events::Trail& trail, rules::Router& router,
                         runner::Runner& runner);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_RUNNER_COMMANDS_H_
