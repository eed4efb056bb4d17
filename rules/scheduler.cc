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

Scheduler::Scheduler(Env& env, std::string state_file, events::TrailIdentity identity, bool persistent)
    : env_(env),
      state_file_(std::move(state_file)),
      identity_(std::move(identity)),
      persistent_(persistent),
      started_ns_(env.clock().NowNanos()) {}

Status Scheduler::Load() {
  auto text = ReadFileToString(env_.fs(), AT_FDCWD, state_file_);
  if (!text.ok()) return text.status().IsNotFound() ? Status::OK() : text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1 || !j.contains("rules")) {
    return Status::Corruption(state_file_ + ": not a version-1 schedule state file");
  }
  for (const auto& [name, s] : j["rules"].items()) {
    state_[name] = State{s.value("anchor_ns", int64_t{0}), s.value("last_ns", int64_t{0})};
  }
  return Status::OK();
}

Status Scheduler::Save() {
  nlohmann::json rules = nlohmann::json::object();
  for (const auto& [name, s] : state_) rules[name] = {{"anchor_ns", s.anchor_ns}, {"last_ns", s.last_ns}};
  std::string text = nlohmann::json{{"version", 1}, {"rules", rules}}.dump();
  Fs& fs = env_.fs();
  std::string tmp = state_file_ + ".tmp";
  ASSIGN_OR_RETURN(UniqueFd fd, fs.OpenAt(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  RETURN_IF_ERROR(fs.WriteAll(fd.get(), text));
  RETURN_IF_ERROR(fs.Fsync(fd.get()));
  return fs.RenameAt(AT_FDCWD, tmp, AT_FDCWD, state_file_, false);
}

Status Scheduler::SetRules(std::shared_ptr<const RuleSet> rules) {
  rules_ = std::move(rules);
  int64_t now = env_.clock().NowNanos();
  bool changed = false;
  for (const auto& r : rules_->rules()) {
    if (!r.schedule || !r.enabled || state_.count(r.name)) continue;
    state_[r.name] = State{now, 0};
    changed = true;
  }
  return changed ? Save() : Status::OK();
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

Result<std::vector<std::pair<const Rule*, nlohmann::json>>> Scheduler::TakeDue() {
  std::vector<std::pair<const Rule*, nlohmann::json>> due;
  if (!rules_) return due;
  int64_t now = env_.clock().NowNanos();
  for (const auto& r : rules_->rules()) {
    if (!r.schedule || !r.enabled) continue;
    State& s = state_[r.name];
    int64_t next = NextFor(r, s);
    if (next > now) continue;
    // Fired once for however many slots were missed; the event carries the
    // slot it stands for.
    due.emplace_back(&r, ScheduledEvent(r, next, identity_));
    s.last_ns = now;
  }
  if (!due.empty()) RETURN_IF_ERROR(Save());
  return due;
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
