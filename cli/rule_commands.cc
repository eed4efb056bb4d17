// `bucketctl test-event-pattern`, `rules …`, `schedule next`.
#include <fcntl.h>

#include <cstdio>

#include "cli/commands.h"
#include "common/file_util.h"
#include "common/time_format.h"
#include "events/records.h"
#include "rules/pattern.h"
#include "rules/rule.h"
#include "rules/schedule.h"
#include "runner/function.h"
#include "runner/layers.h"
#include "stages/stages.h"

namespace bucketd::cli {

namespace {

// "<json>" as given, or the contents of the file for "@path".
Result<std::string> TextOrFile(Context& ctx, const std::string& arg, std::string* source) {
  if (arg.empty() || arg[0] != '@') return arg;
  *source = arg.substr(1);
  return ReadFileToString(ctx.env().fs(), AT_FDCWD, arg.substr(1));
}

// Usage-class errors (bad pattern, bad event) exit 2, like bad flags.
int Usage(const Status& s) {
  std::fprintf(stderr, "bucketctl: %s\n", s.message().c_str());
  return 2;
}

}  // namespace

std::vector<Command> RuleCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"test-event-pattern",
                  "print true if the event matches the pattern, else false (like aws events "
                  "test-event-pattern)",
                  [](CLI::App* app) {
                    auto pattern = std::make_shared<std::string>();
                    auto event = std::make_shared<std::string>();
                    app->add_option("--event-pattern", *pattern, "pattern JSON, or @file")->required();
                    app->add_option("--event", *event, "event JSON, or @file")->required();
                    return [pattern, event](Context& ctx) {
                      std::string psource = "--event-pattern", esource = "--event";
                      auto ptext = TextOrFile(ctx, *pattern, &psource);
                      if (!ptext.ok()) return Usage(ptext.status());
                      auto etext = TextOrFile(ctx, *event, &esource);
                      if (!etext.ok()) return Usage(etext.status());
                      auto p = rules::ParsePattern(*ptext, psource);
                      if (!p.ok()) return Usage(p.status());
                      rules::FieldPaths paths = rules::PathsOf(*p);
                      auto e = rules::FlatEvent::Parse(*etext, esource, &paths);
                      if (!e.ok()) return Usage(e.status());
                      std::printf("%s\n", rules::Matches(*p, *e) ? "true" : "false");
                      return 0;
                    };
                  }});
  return cmds;
}

namespace {

void PrintRules(const std::vector<rules::Rule>& list, bool json) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : list) {
    nlohmann::json j = {{"Name", r.name}, {"State", r.enabled ? "ENABLED" : "DISABLED"}, {"Source", r.source}};
    if (!r.description.empty()) j["Description"] = r.description;
    if (r.pattern) j["EventPattern"] = r.pattern_json.dump();
    if (r.schedule) j["ScheduleExpression"] = r.schedule->expression;
    nlohmann::json targets = nlohmann::json::array();
    for (const auto& t : r.targets) {
      targets.push_back({{"Id", t.id}, {"Arn", t.arn}, {"Function", t.function}});
    }
    j["Targets"] = targets;
    out.push_back(j);
  }
  if (json) {
    std::printf("%s\n", nlohmann::json{{"Rules", out}}.dump(2).c_str());
    return;
  }
  for (const auto& j : out) {
    std::string what = j.contains("ScheduleExpression") ? j["ScheduleExpression"].get<std::string>()
                                                        : j["EventPattern"].get<std::string>();
    std::string targets;
    for (const auto& t : j["Targets"]) {
      targets += (targets.empty() ? "" : ",") +
                 (t["Function"].get<std::string>().empty() ? t["Arn"].get<std::string>() : t["Function"].get<std::string>());
    }
    std::printf("%-32s %-8s %s -> %s\n", j["Name"].get<std::string>().c_str(),
                j["State"].get<std::string>().c_str(), what.c_str(), targets.empty() ? "(no targets)" : targets.c_str());
  }
}

// The directories bucketd loads rules from: <config-dir>/rules.d, and the
// notification configurations in the state directory (when one is known).
Result<std::vector<std::string>> DaemonRuleDirs(Context& ctx) {
  ASSIGN_OR_RETURN(std::string config, ctx.ConfigDir());
  std::vector<std::string> dirs = {config + "/rules.d"};
  if (auto state = ctx.StateDir(); state.ok()) dirs.push_back(rules::NotificationsDir(*state));
  return dirs;
}

}  // namespace

std::vector<Command> RulesCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"validate",
                  "check every rule file in a directory (default: <config-dir>/rules.d and the bucket notification "
                  "configurations put through the API) and list the rules",
                  [](CLI::App* app) {
                    auto dir = std::make_shared<std::string>();
                    app->add_option("dir", *dir, "a rules.d directory");
                    return [dir](Context& ctx) {
                      std::vector<std::string> dirs = {*dir};
                      if (dir->empty()) {
                        auto found = DaemonRuleDirs(ctx);
                        if (!found.ok()) return Context::Fail(found.status());
                        dirs = *found;
                      }
                      auto rules = rules::LoadRulesDirs(ctx.env(), dirs);
                      if (!rules.ok()) return Usage(rules.status());
                      for (const auto& r : *rules) {
                        for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
                      }
                      // With bucketd's own directories, its functions too: what a
                      // load can tell before the first event.
                      if (dir->empty()) {
                        std::string functions_dir = ctx.ConfigDir().value() + "/functions.d";
                        auto functions =
                            runner::LoadFunctionsDir(ctx.env(), functions_dir, stages::SeedBuiltins().Names());
                        if (!functions.ok()) return Usage(functions.status());
                        auto state_dir = ctx.StateDir();
                        for (auto& [name, fn] : *functions) {
                          if (Status code = runner::CheckLambdaCode(fn); !code.ok()) return Usage(code);
                          if (fn.layers.empty()) continue;
                          if (!state_dir.ok()) return Context::Fail(state_dir.status());
                          if (Status layers = runner::ResolveLayers(ctx.env(), *state_dir, &fn); !layers.ok()) {
                            return Usage(layers);
                          }
                        }
                        for (const auto& w : runner::TargetsWithoutFunctions(*rules, *functions)) {
                          std::fprintf(stderr, "warning: %s\n", w.c_str());
                        }
                        std::printf("%zu function(s) valid in %s\n", functions->size(), functions_dir.c_str());
                      }
                      std::string where;
                      for (const auto& d : dirs) where += (where.empty() ? "" : " and ") + d;
                      std::printf("%zu rule(s) valid in %s\n", rules->size(), where.c_str());
                      return 0;
                    };
                  }});
  cmds.push_back({"list", "the rules in <config-dir>/rules.d and those put through the API", [](CLI::App* app) {
                    auto json = std::make_shared<bool>(false);
                    app->add_flag("--json", *json, "machine-readable output");
                    return [json](Context& ctx) {
                      auto dirs = DaemonRuleDirs(ctx);
                      if (!dirs.ok()) return Context::Fail(dirs.status());
                      auto rules = rules::LoadRulesDirs(ctx.env(), *dirs);
                      if (!rules.ok()) return Context::Fail(rules.status());
                      PrintRules(*rules, *json);
                      return 0;
                    };
                  }});
  return cmds;
}

std::vector<Command> ScheduleCommands() {
  std::vector<Command> cmds;
  cmds.push_back({"next", "the next firings of a rate() or cron() expression (printed in UTC)",
                  [](CLI::App* app) {
                    auto expr = std::make_shared<std::string>();
                    auto count = std::make_shared<int>(5);
                    auto after = std::make_shared<std::string>();
                    auto zone = std::make_shared<std::string>();
                    app->add_option("expression", *expr, "rate(...) or cron(...)")->required();
                    app->add_option("--timezone", *zone, "read cron fields in this zone (e.g. Europe/London)");
                    app->add_option("-n", *count, "how many firings")->check(CLI::Range(1, 100000));
                    app->add_option("--after", *after, "start strictly after this RFC 3339 time (default: now)");
                    return [expr, count, after, zone](Context& ctx) {
                      auto sched = rules::ParseSchedule(*expr);
                      if (!sched.ok()) return Usage(sched.status());
                      if (!zone->empty()) {
                        auto tz = rules::TimeZone::Load(ctx.env(), *zone);
                        if (!tz.ok()) return Usage(tz.status());
                        sched->zone = std::make_shared<const rules::TimeZone>(std::move(tz).value());
                      }
                      int64_t t = ctx.env().clock().NowNanos();
                      if (!after->empty()) {
                        auto parsed = ParseTimeSpec(*after, t);
                        if (!parsed.ok()) return Usage(parsed.status());
                        t = *parsed;
                      }
                      int64_t anchor = t;  // a rate schedule counts from its creation
                      for (int i = 0; i < *count; ++i) {
                        auto next = rules::NextFiring(*sched, t, anchor);
                        if (!next) break;
                        std::printf("%s\n", events::Rfc3339Seconds(*next).c_str());
                        t = *next;
                      }
                      return 0;
                    };
                  }});
  return cmds;
}

}  // namespace bucketd::cli
