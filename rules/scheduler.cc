#include "rules/scheduler.h"

#include <fcntl.h>

#include <climits>

#include "common/file_util.h"
#include "common/md5.h"

namespace bucketd::rules {

nlohmann::json ScheduledEvent(const Rule& rule, int64_t fire_ns, const events::TrailIdentity& id) {
  // The id is derived from the rule and the firing time, so a firing
  // replayed after a crash carries the same id.
  Md5 md5;
  md5.Update(rule.name + "@" + std::to_string(fire_ns));
  std::string h = md5.HexDigest();
  std::string uuid = h.substr(0, 8) + "-" + h.substr(8, 4) + "-3" + h.substr(13, 3) + "-" +
                     h.substr(16, 4) + "-" + h.substr(20, 12);
  return {{"version", "0"},
          {"id", uuid},
          {"detail-type", "Scheduled Event"},
          {"source", "aws.events"},
          {"account", id.account},
          {"time", events::Rfc3339Seconds(fire_ns)},
          {"region", id.region},
          {"resources", {rule.Arn(id.region, id.account)}},
          {"detail", nlohmann::json::object()}};
}

namespace {

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS schedules(rule TEXT PRIMARY KEY, anchor_ns INTEGER NOT NULL, "
    "last_ns INTEGER NOT NULL) WITHOUT ROWID";
constexpr char kUpsert[] = "INSERT OR REPLACE INTO schedules VALUES(?,?,?)";

}  // namespace

Scheduler::Scheduler(Env& env, SqliteDb& db, events::TrailIdentity identity, bool persistent)
    : env_(env),
      db_(db),
      identity_(std::move(identity)),
      persistent_(persistent),
      started_ns_(env.clock().NowNanos()) {}

Status Scheduler::Load(const std::string& legacy_file) {
  RETURN_IF_ERROR(db_.Exec(kSchema));
  if (!legacy_file.empty()) RETURN_IF_ERROR(ImportLegacy(legacy_file));
  ASSIGN_OR_RETURN(auto q, db_.Prepare("SELECT rule, anchor_ns, last_ns FROM schedules"));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    state_[q.ColumnText(0)] = State{q.ColumnInt(1), q.ColumnInt(2)};
  }
  return Status::OK();
}

Status Scheduler::ImportLegacy(const std::string& file) {
  auto text = ReadFileToString(env_.fs(), AT_FDCWD, file);
  if (!text.ok()) return text.status().IsNotFound() ? Status::OK() : text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1 || !j.contains("rules") ||
      !j["rules"].is_object()) {
    return Status::Corruption(file + ": not a version-1 schedule state file");
  }
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db_));
  ASSIGN_OR_RETURN(auto insert, db_.Prepare("INSERT OR IGNORE INTO schedules VALUES(?,?,?)"));
  for (const auto& [name, s] : j["rules"].items()) {
    if (!s.is_object()) return Status::Corruption(file + ": rule '" + name + "' is not an object");
    insert.Reset();
    insert.Bind(1, name).Bind(2, s.value("anchor_ns", int64_t{0})).Bind(3, s.value("last_ns", int64_t{0}));
    RETURN_IF_ERROR(insert.Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  return env_.fs().UnlinkAt(AT_FDCWD, file, false);
}

Status Scheduler::SetRules(std::shared_ptr<const RuleSet> rules) {
  int64_t now = env_.clock().NowNanos();
  std::vector<std::string> anchored;
  for (const auto& r : rules->rules()) {
    if (r.schedule && r.enabled && !state_.count(r.name)) anchored.push_back(r.name);
  }
  if (!anchored.empty()) {
    ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db_));
    ASSIGN_OR_RETURN(auto upsert, db_.Prepare(kUpsert));
    for (const auto& name : anchored) {
      upsert.Reset();
      upsert.Bind(1, name).Bind(2, now).Bind(3, int64_t{0});
      RETURN_IF_ERROR(upsert.Run());
    }
    RETURN_IF_ERROR(txn.Commit());
    for (const auto& name : anchored) state_[name] = State{now, 0};
  }
  rules_ = std::move(rules);
  return Status::OK();
}

int64_t Scheduler::NextFor(const Rule& r, const State& s) const {
  // Never fired: the first firing after the anchor. Fired: the first after
  // the last firing. A persistent schedule's missed firing is then simply
  // due now; a non-persistent one skips to the first firing after start.
  int64_t after = s.last_ns != 0 ? s.last_ns : s.anchor_ns;
  if (!persistent_) after = std::max(after, started_ns_);
  auto next = NextFiring(*r.schedule, after, s.anchor_ns);
  return next ? *next : INT64_MAX;
}

std::vector<Firing> Scheduler::Due() const {
  std::vector<Firing> due;
  if (!rules_) return due;
  int64_t now = env_.clock().NowNanos();
  for (const auto& r : rules_->rules()) {
    if (!r.schedule || !r.enabled) continue;
    auto it = state_.find(r.name);
    if (it == state_.end()) continue;
    int64_t next = NextFor(r, it->second);
    if (next > now) continue;
    // Fired once for however many slots were missed; the event carries the
    // slot it stands for.
    due.push_back(Firing{&r, ScheduledEvent(r, next, identity_), now});
  }
  return due;
}

Status Scheduler::Record(Transaction& txn, const std::vector<Firing>& firings) {
  if (firings.empty()) return Status::OK();
  ASSIGN_OR_RETURN(auto upsert, txn.db().Prepare(kUpsert));
  for (const auto& f : firings) {
    auto it = state_.find(f.rule->name);
    int64_t anchor = it == state_.end() ? f.fired_ns : it->second.anchor_ns;
    upsert.Reset();
    upsert.Bind(1, f.rule->name).Bind(2, anchor).Bind(3, f.fired_ns);
    RETURN_IF_ERROR(upsert.Run());
  }
  return Status::OK();
}

void Scheduler::Fired(const std::vector<Firing>& firings) {
  for (const auto& f : firings) state_[f.rule->name].last_ns = f.fired_ns;
}

int64_t Scheduler::NanosUntilNext() const {
  if (!rules_) return INT64_MAX;
  int64_t now = env_.clock().NowNanos(), best = INT64_MAX;
  for (const auto& r : rules_->rules()) {
    if (!r.schedule || !r.enabled) continue;
    auto it = state_.find(r.name);
    if (it == state_.end()) continue;
    int64_t next = NextFor(r, it->second);
    if (next != INT64_MAX) best = std::min(best, std::max<int64_t>(next - now, 0));
  }
  return best;
}

}  // namespace bucketd::rules
