// bucketctl: the command-line client. Global flags, then the command table.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using bucketd::cli::Command;
  using bucketd::cli::Context;
  Context ctx(bucketd::Env::Default());
  CLI::App app{"bucketctl: work with a bucketd store, its events and its pipelines"};
  app.add_option("--root", ctx.root_flag(), "store root (buckets in ROOT/buckets/<bucket>/)")
      ->envname("BUCKETD_ROOT");
  app.add_option("--config-dir", ctx.config_dir_flag(),
                 "bucketd's configuration (rules.d/, functions.d/); default $CONFIGURATION_DIRECTORY");
  app.add_option("--state-dir", ctx.state_dir_flag(),
                 "bucketd's state directory (default $STATE_DIRECTORY, else ROOT/.bucketd)");
  app.add_option("--socket", ctx.socket_flag(),
                 "bucketd's control socket (default $BUCKETD_SOCKET, /run/bucketd/control.sock, STATE_DIR/control.sock)");
  app.require_subcommand(1);
  std::function<int(Context&)> handler;
  auto add = [&handler](CLI::App* parent, const std::vector<Command>& table) {
    for (const Command& c : table) {
      CLI::App* sub = parent->add_subcommand(c.name, c.help);
      auto run = c.setup(sub);
      sub->callback([&handler, run] { handler = run; });
    }
  };
  add(&app, bucketd::cli::StoreCommands());
  add(&app, bucketd::cli::RuleCommands());
  CLI::App* events = app.add_subcommand("events", "read the trail: tail, lookup");
  events->require_subcommand(1);
  add(events, bucketd::cli::EventCommands());
  CLI::App* rules = app.add_subcommand("rules", "rule files: validate, list");
  rules->require_subcommand(1);
  add(rules, bucketd::cli::RulesCommands());
  CLI::App* schedule = app.add_subcommand("schedule", "schedule expressions: next");
  schedule->require_subcommand(1);
  add(schedule, bucketd::cli::ScheduleCommands());
  // `runs` lists with its own flags; `runs show ID` and `runs cancel ID`
  // are its subcommands.
  auto run_cmds = bucketd::cli::RunCommands();
  CLI::App* runs = app.add_subcommand(run_cmds[0].name, run_cmds[0].help);
  auto list_runs = run_cmds[0].setup(runs);
  std::vector<std::pair<CLI::App*, decltype(handler)>> run_subs;
  for (size_t i = 1; i < run_cmds.size(); ++i) {
    CLI::App* sub = runs->add_subcommand(run_cmds[i].name, run_cmds[i].help);
    run_subs.push_back({sub, run_cmds[i].setup(sub)});
  }
  runs->callback([&handler, run_subs, list_runs] {
    handler = list_runs;
    for (const auto& [sub, h] : run_subs) {
      if (sub->parsed()) handler = h;
    }
  });
  CLI::App* dlq = app.add_subcommand("dlq", "dead invocations: list, redrive");
  dlq->require_subcommand(1);
  add(dlq, bucketd::cli::DlqCommands());
  add(&app, bucketd::cli::ReplayCommands());
  add(&app, bucketd::cli::FetchCommands());
  CLI::App* iam = app.add_subcommand("iam", "IAM users, access keys and policies (as aws iam)");
  iam->require_subcommand(1);
  add(iam, bucketd::cli::IamCommands());
  CLI::App* lambda = app.add_subcommand("lambda", "functions and layers: invoke, update-function-code, publish-layer-version, list-layer-versions (as aws lambda)");
  lambda->require_subcommand(1);
  add(lambda, bucketd::cli::LambdaCommands());
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    // --help on a subcommand shows that subcommand's help.
    const CLI::App* target = &app;
    for (bool deeper = true; deeper;) {
      deeper = false;
      for (const CLI::App* s : target->get_subcommands()) {
        target = s;
        deeper = true;
      }
    }
    std::fputs(target->help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    // CLI11 says only "A subcommand is required"; say which word it did not
    // know and what it knows.
    CLI::App* target = &app;
    for (bool deeper = true; deeper;) {
      deeper = false;
      for (CLI::App* s : target->get_subcommands()) {
        target = s;
        deeper = true;
      }
    }
    if (std::string(e.what()).find("subcommand is required") != std::string::npos) {
      std::string names, path = target == &app ? "" : " " + target->get_name();
      for (const CLI::App* s : target->get_subcommands([](CLI::App*) { return true; })) {
        names += (names.empty() ? "" : ", ") + s->get_name();
      }
      std::vector<std::string> rest = target->remaining();
      if (rest.empty()) {
        std::fprintf(stderr, "bucketctl%s: a command is required: one of %s (see --help)\n", path.c_str(),
                     names.c_str());
      } else {
        std::fprintf(stderr, "bucketctl%s: unknown command '%s'; expected one of %s (see --help)\n", path.c_str(),
                     rest.front().c_str(), names.c_str());
      }
      return 2;
    }
    std::fprintf(stderr, "bucketctl: %s (see --help)\n", e.what());
    return 2;
  }
  // No exception may end a command with an abort: it is a failure like any.
  try {
    return handler(ctx);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bucketctl: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "bucketctl: an unexpected error\n");
  }
  return 1;
}
