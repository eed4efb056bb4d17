#include "runner/invocation_json.h"

#include <algorithm>

namespace bucketd::runner {

nlohmann::json InvocationToJson(const Invocation& v) {
  return {{"n", v.n},
          {"id", v.id},
          {"rule", v.rule},
          {"target", v.target},
          {"function", v.function},
          {"arn", v.arn},
          {"bucket", v.bucket},
          {"key", v.key},
          {"event_id", v.event_id},
          {"trail_seq", v.trail_seq},
          {"event", v.event_json},
          {"input", v.input},
          {"input_error", v.input_error},
          {"created_ns", v.created_ns},
          {"age_base_ns", v.age_base_ns},
          {"max_retries", v.max_retries},
          {"max_age_seconds", v.max_age_seconds},
          {"dead_letter", v.dead_letter},
          {"chain", v.chain},
          {"hop", v.hop},
          {"replay", v.replay},
          {"origin", v.origin},
          {"state", StateName(v.state)},
          {"attempts", v.attempts},
          {"retry_base", v.retry_base},
          {"next_ns", v.next_ns},
          {"started_ns", v.started_ns},
          {"finished_ns", v.finished_ns},
          {"error", v.error}};
}

Invocation InvocationFromJson(const nlohmann::json& j) {
  Invocation v;
  v.n = j.value("n", int64_t{0});
  v.id = j.value("id", "");
  v.rule = j.value("rule", "");
  v.target = j.value("target", "");
  v.function = j.value("function", "");
  v.arn = j.value("arn", "");
  v.bucket = j.value("bucket", "");
  v.key = j.value("key", "");
  v.event_id = j.value("event_id", "");
  v.trail_seq = j.value("trail_seq", int64_t{0});
  v.event_json = j.value("event", "");
  v.input = j.value("input", "");
  v.input_error = j.value("input_error", "");
  v.created_ns = j.value("created_ns", int64_t{0});
  v.age_base_ns = j.value("age_base_ns", int64_t{0});
  v.max_retries = j.value("max_retries", 0);
  v.max_age_seconds = j.value("max_age_seconds", 0);
  v.dead_letter = j.value("dead_letter", "");
  v.chain = j.value("chain", "");
  v.hop = j.value("hop", 0);
  v.replay = j.value("replay", "");
  v.origin = j.value("origin", "");
  v.state = ParseState(j.value("state", "")).value_or(State::kPending);
  v.attempts = j.value("attempts", 0);
  v.retry_base = j.value("retry_base", 0);
  v.next_ns = j.value("next_ns", int64_t{0});
  v.started_ns = j.value("started_ns", int64_t{0});
  v.finished_ns = j.value("finished_ns", int64_t{0});
  v.error = j.value("error", "");
  return v;
}

nlohmann::json AttemptToJson(const AttemptRecord& a) {
  return {{"attempt", a.attempt}, {"started_ns", a.started_ns}, {"finished_ns", a.finished_ns},
          {"outcome", a.outcome}, {"error", a.error}};
}

AttemptRecord AttemptFromJson(const std::string& id, const nlohmann::json& j) {
  return {id, j.value("attempt", 0), j.value("started_ns", int64_t{0}), j.value("finished_ns", int64_t{0}),
          j.value("outcome", ""), j.value("error", "")};
}

nlohmann::json QueryToJson(const RunQuery& q) {
  return {{"rule", q.rule}, {"state", q.state ? std::string(StateName(*q.state)) : ""},
          {"since_ns", q.since_ns}, {"id", q.id}, {"limit", q.limit}};
}

RunQuery QueryFromJson(const nlohmann::json& j) {
  RunQuery q;
  q.rule = j.value("rule", "");
  q.state = ParseState(j.value("state", ""));
  q.since_ns = j.value("since_ns", int64_t{0});
  q.id = j.value("id", "");
  q.limit = std::min(j.value("limit", 100), 10000);
  return q;
}

}  // namespace bucketd::runner
