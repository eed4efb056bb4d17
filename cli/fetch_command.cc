// bucketctl fetch: runs the fetch stage by hand, in this process, with a
// progress bar on a terminal. The archives it puts fire the extract rule of
// a running bucketd like any other object.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/progress.h"
#include "stages/fetch.h"
#include "stages/stage_input.h"

namespace bucketd::cli {

std::vector<Command> FetchCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"fetch", "download new deliveries over SFTP now (the fetch stage, by hand)", [](CLI::App* app) {
                    struct Flags {
                      std::string input, key_file;
                      bool stock = false;
                    };
                    auto f = std::make_shared<Flags>();
                    app->add_option("--input", f->input,
                                    "the stage's input: JSON text, or @FILE (e.g. a function's Input)")
                        ->required();
                    app->add_option("--key-file", f->key_file, "private key file (mode 0600) instead of a credential");
                    app->add_flag("--stock", f->stock, "take every delivery on the server (stock: TRUE)");
                    return [f](Context& ctx) {
                      std::string text = f->input;
                      if (!text.empty() && text[0] == '@') {
                        std::FILE* in = std::fopen(text.c_str() + 1, "rb");
                        if (!in) return Context::Fail(Status::NotFound("cannot read " + text.substr(1)));
                        text.clear();
                        char buf[4096];
                        size_t n;
                        while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) text.append(buf, n);
                        std::fclose(in);
                      }
                      auto in = stages::ParseStageInput(text);
                      if (!in.ok()) return Context::Fail(in.status());
                      if (!f->key_file.empty()) (*in)["key_file"] = f->key_file;
                      if (f->stock) (*in)["stock"] = "TRUE";
                      const char* creds_env = std::getenv("CREDENTIALS_DIRECTORY");
                      std::string creds = creds_env ? creds_env : "";
                      auto req = stages::ParseFetchRequest(ctx.env().fs(), *in, creds);
                      if (!req.ok()) return Context::Fail(req.status());
                      auto secret = stages::LoadFetchSecret(ctx.env().fs(), *req, creds);
                      if (!secret.ok()) return Context::Fail(secret.status());
                      auto store = ctx.Store();
                      if (!store.ok()) return Context::Fail(store.status());
                      auto state = ctx.StateDir();
                      if (!state.ok()) return Context::Fail(state.status());
                      std::unique_ptr<Progress> bar;
                      std::string current;
                      stages::FetchHooks hooks;
                      hooks.log = [&bar](const std::string& line) {
                        if (bar) return;  // the bar shows the running file
                        std::fprintf(stderr, "%s\n", line.c_str());
                      };
                      hooks.progress = [&](const std::string& name, uint64_t done, uint64_t total) {
                        if (name != current) {
                          bar.reset();
                          bar = std::make_unique<Progress>(ctx.env().clock(), name, total);
                          current = name;
                        }
                        bar->Update(done);
                        if (done == total) bar.reset();
                      };
                      auto summary = stages::RunFetch(*req, *secret, **store, *state, hooks);
                      bar.reset();
                      if (!summary.ok()) return Context::Fail(summary.status());
                      std::printf("fetched %d files (%llu bytes) of %d deliveries; %d already in the bucket\n",
                                  summary->fetched, static_cast<unsigned long long>(summary->bytes),
                                  summary->deliveries, summary->present);
                      return 0;
                    };
                  }});
  return cmds;
}

}  // namespace bucketd::cli
