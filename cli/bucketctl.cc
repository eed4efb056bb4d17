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
  app.require_subcommand(1);
  std::function<int(Context&)> handler;
  std::vector<Command> table = bucketd::cli::StoreCommands();
  for (const Command& c : table) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    auto run = c.setup(sub);
    sub->callback([&handler, run] { handler = run; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    // --help on a subcommand shows that subcommand's help.
    const CLI::App* target = &app;
    for (const CLI::App* s : app.get_subcommands()) target = s;
    std::fputs(target->help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "bucketctl: %s (see --help)\n", e.what());
    return 2;
  }
  return handler(ctx);
}
