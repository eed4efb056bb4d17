#include "runner/invocation.h"

namespace bucketd::runner {

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS invocations(
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  rule TEXT NOT NULL, target TEXT NOT NULL, function TEXT NOT NULL, arn TEXT NOT NULL,
  bucket TEXT NOT NULL, key TEXT NOT NULL, event_id TEXT NOT NULL, trail_seq INTEGER NOT NULL,
  event TEXT NOT NULL, input TEXT NOT NULL, input_error TEXT NOT NULL,
  created_ns INTEGER NOT NULL, age_base_ns INTEGER NOT NULL,
  max_retries INTEGER NOT NULL, max_age_s INTEGER NOT NULL, dead_letter TEXT NOT NULL,
  chain TEXT NOT NULL, hop INTEGER NOT NULL, replay TEXT NOT NULL, origin TEXT NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL, retry_base INTEGER NOT NULL,
  next_ns INTEGER NOT NULL, started_ns INTEGER NOT NULL, finished_ns INTEGER NOT NULL,
  error TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS invocations_active ON invocations(state, n);
CREATE INDEX IF NOT EXISTS invocations_by_rule ON invocations(rule, created_ns);
CREATE TABLE IF NOT EXISTS attempts(
  id TEXT NOT NULL, attempt INTEGER NOT NULL, started_ns INTEGER NOT NULL,
  finished_ns INTEGER NOT NULL, outcome TEXT NOT NULL, error TEXT NOT NULL,
  PRIMARY KEY(id, attempt)) WITHOUT ROWID;
DROP TABLE IF EXISTS runner_commands;
)sql";

constexpr char kColumns[] =
    "n, id, rule, target, function, arn, bucket, key, event_id, trail_seq, event, input, "
    "input_error, created_ns, age_base_ns, max_retries, max_age_s, dead_letter, chain, hop, "
    "replay, origin, state, attempts, retry_base, next_ns, started_ns, finished_ns, error";

constexpr std::string_view kStateNames[] = {"pending", "running", "succeeded", "failed", "dead"};

}  // namespace

std::string_view StateName(State s) { return kStateNames[static_cast<int>(s)]; }

std::optional<State> ParseState(std::string_view name) {
  for (int i = 0; i < 5; ++i) {
    if (kStateNames[i] == name) return static_cast<State>(i);
  }
  return std::nullopt;
}

Status InvocationStore::CreateTables(SqliteDb& db) { return db.Exec(kSchema); }

Status InvocationStore::Insert(const Invocation& v) {
  ASSIGN_OR_RETURN(auto q, db_.Prepare(
      "INSERT OR IGNORE INTO invocations(id, rule, target, function, arn, bucket, key, event_id, "
      "trail_seq, event, input, input_error, created_ns, age_base_ns, max_retries, max_age_s, "
      "dead_letter, chain, hop, replay, origin, state, attempts, retry_base, next_ns, started_ns, "
      "finished_ns, error) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  q.Bind(1, v.id).Bind(2, v.rule).Bind(3, v.target).Bind(4, v.function).Bind(5, v.arn)
      .Bind(6, v.bucket).Bind(7, v.key).Bind(8, v.event_id).Bind(9, v.trail_seq)
      .Bind(10, v.event_json).Bind(11, v.input).Bind(12, v.input_error).Bind(13, v.created_ns)
      .Bind(14, v.age_base_ns).Bind(15, static_cast<int64_t>(v.max_retries))
      .Bind(16, static_cast<int64_t>(v.max_age_seconds)).Bind(17, v.dead_letter).Bind(18, v.chain)
      .Bind(19, static_cast<int64_t>(v.hop)).Bind(20, v.replay).Bind(21, v.origin)
      .Bind(22, StateName(v.state)).Bind(23, static_cast<int64_t>(v.attempts))
      .Bind(24, static_cast<int64_t>(v.retry_base)).Bind(25, v.next_ns).Bind(26, v.started_ns)
      .Bind(27, v.finished_ns).Bind(28, v.error);
  return q.Run();
}

Result<std::vector<Invocation>> InvocationStore::Read(SqliteStatement& q) {
  std::vector<Invocation> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    Invocation v;
    int c = 0;
    v.n = q.ColumnInt(c++);
    v.id = q.ColumnText(c++);
    v.rule = q.ColumnText(c++);
    v.target = q.ColumnText(c++);
    v.function = q.ColumnText(c++);
    v.arn = q.ColumnText(c++);
    v.bucket = q.ColumnText(c++);
    v.key = q.ColumnText(c++);
    v.event_id = q.ColumnText(c++);
    v.trail_seq = q.ColumnInt(c++);
    v.event_json = q.ColumnText(c++);
    v.input = q.ColumnText(c++);
    v.input_error = q.ColumnText(c++);
    v.created_ns = q.ColumnInt(c++);
    v.age_base_ns = q.ColumnInt(c++);
    v.max_retries = static_cast<int>(q.ColumnInt(c++));
    v.max_age_seconds = static_cast<int>(q.ColumnInt(c++));
    v.dead_letter = q.ColumnText(c++);
    v.chain = q.ColumnText(c++);
    v.hop = static_cast<int>(q.ColumnInt(c++));
    v.replay = q.ColumnText(c++);
    v.origin = q.ColumnText(c++);
    v.state = ParseState(q.ColumnText(c++)).value_or(State::kPending);
    v.attempts = static_cast<int>(q.ColumnInt(c++));
    v.retry_base = static_cast<int>(q.ColumnInt(c++));
    v.next_ns = q.ColumnInt(c++);
    v.started_ns = q.ColumnInt(c++);
    v.finished_ns = q.ColumnInt(c++);
    v.error = q.ColumnText(c++);
    out.push_back(std::move(v));
  }
}

Result<std::vector<Invocation>> InvocationStore::LoadAfter(int64_t after, int limit) {
  ASSIGN_OR_RETURN(auto q, db_.Prepare(std::string("SELECT ") + kColumns +
                                       " FROM invocations WHERE n>? ORDER BY n LIMIT ?"));
  q.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
  return Read(q);
}

Result<std::vector<Invocation>> InvocationStore::LoadActive() {
  ASSIGN_OR_RETURN(auto q, db_.Prepare(std::string("SELECT ") + kColumns +
                                       " FROM invocations WHERE state IN ('pending','running','failed') "
                                       "ORDER BY n"));
  return Read(q);
}

Result<std::optional<Invocation>> InvocationStore::Get(const std::string& id) {
  ASSIGN_OR_RETURN(auto q, db_.Prepare(std::string("SELECT ") + kColumns +
                                       " FROM invocations WHERE id=?"));
  q.Bind(1, id);
  ASSIGN_OR_RETURN(auto rows, Read(q));
  if (rows.empty()) return std::optional<Invocation>();
  return std::optional<Invocation>(std::move(rows.front()));
}

Result<std::vector<Invocation>> InvocationStore::Find(const RunQuery& rq) {
  ASSIGN_OR_RETURN(auto q, db_.Prepare(
      std::string("SELECT ") + kColumns +
      " FROM invocations WHERE (?='' OR rule=?) AND (?='' OR state=?) AND created_ns>=? AND "
      "(?='' OR id=?) AND (?=0 OR n<?) ORDER BY n DESC LIMIT ?"));
  std::string state = rq.state ? std::string(StateName(*rq.state)) : "";
  q.Bind(1, rq.rule).Bind(2, rq.rule).Bind(3, state).Bind(4, state).Bind(5, rq.since_ns)
      .Bind(6, rq.id).Bind(7, rq.id).Bind(8, rq.before_n).Bind(9, rq.before_n)
      .Bind(10, static_cast<int64_t>(rq.limit));
  return Read(q);
}

Status InvocationStore::UpdateState(const Invocation& v) {
  ASSIGN_OR_RETURN(auto q, db_.Prepare(
      "UPDATE invocations SET state=?, attempts=?, retry_base=?, next_ns=?, started_ns=?, "
      "finished_ns=?, error=?, age_base_ns=? WHERE id=?"));
  q.Bind(1, StateName(v.state)).Bind(2, static_cast<int64_t>(v.attempts))
      .Bind(3, static_cast<int64_t>(v.retry_base)).Bind(4, v.next_ns).Bind(5, v.started_ns)
      .Bind(6, v.finished_ns).Bind(7, v.error).Bind(8, v.age_base_ns).Bind(9, v.id);
  return q.Run();
}

Status InvocationStore::AddAttempt(const AttemptRecord& a) {
  ASSIGN_OR_RETURN(auto q, db_.Prepare("INSERT OR REPLACE INTO attempts VALUES(?,?,?,?,?,?)"));
  q.Bind(1, a.id).Bind(2, static_cast<int64_t>(a.attempt)).Bind(3, a.started_ns)
      .Bind(4, a.finished_ns).Bind(5, a.outcome).Bind(6, a.error);
  return q.Run();
}

Result<std::vector<AttemptRecord>> InvocationStore::Attempts(const std::string& id) {
  ASSIGN_OR_RETURN(auto q, db_.Prepare(
      "SELECT id, attempt, started_ns, finished_ns, outcome, error FROM attempts WHERE id=? "
      "ORDER BY attempt"));
  q.Bind(1, id);
  std::vector<AttemptRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back({q.ColumnText(0), static_cast<int>(q.ColumnInt(1)), q.ColumnInt(2),
                   q.ColumnInt(3), q.ColumnText(4), q.ColumnText(5)});
  }
}

}  // namespace bucketd::runner
