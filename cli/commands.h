// bucketctl's subcommands: a table of name, one-line help, flag setup and
// handler (STYLE.md §15). Handlers return the process exit code: 0 success,
// 1 the operation failed (message on stderr); CLI11 usage errors exit 2.
#ifndef BUCKETD_CLI_COMMANDS_H_
#define BUCKETD_CLI_COMMANDS_H_

#include <functional>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace bucketd::cli {

struct Command {
  std::string name;
  std::string help;
  // Declares the subcommand's flags on `app`; returns the handler, which
  // runs after parsing with the flags filled in.
  std::function<std::function<int(Context&)>(CLI::App* app)> setup;
};

// mb, rb, ls, cp, mv, rm, cat, head.
std::vector<Command> StoreCommands();
// events tail, events lookup.
std::vector<Command> EventCommands();
// test-event-pattern (top level).
std::vector<Command> RuleCommands();
// rules validate, rules list.
std::vector<Command> RulesCommands();
// schedule next.
std::vector<Command> ScheduleCommands();
// runs (with flags) and its subcommand show.
std::vector<Command> RunCommands();
// dlq list, dlq redrive.
std::vector<Command> DlqCommands();
// replay (top level).
std::vector<Command> ReplayCommands();
// iam create-user, list-users, create-access-key, … (as `aws iam`).
std::vector<Command> IamCommands();
// fetch (top level): the fetch stage run by hand.
std::vector<Command> FetchCommands();
// lambda invoke.
std::vector<Command> LambdaCommands();

}  // namespace bucketd::cli

#endif  // BUCKETD_CLI_COMMANDS_H_
