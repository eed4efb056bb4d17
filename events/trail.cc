#include "events/trail.h"

namespace bucketd::events {

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS trail_meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT OR IGNORE INTO trail_meta VALUES('format_version', '1');
CREATE TABLE IF NOT EXISTS trail(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  mtime_ns INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  user_agent TEXT NOT NULL,
  published INTEGER NOT NULL DEFAULT 0,
  chain TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS trail_by_key ON trail(bucket, key, seq);
CREATE INDEX IF NOT EXISTS trail_unpublished ON trail(published, seq);
CREATE TABLE IF NOT EXISTS objects(
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  etag TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(bucket, key)) WITHOUT ROWID;
)sql";

constexpr char kRecordColumns[] =
    "seq, event_id, time_ns, kind, bucket, key, size, etag, mtime_ns, uid, user_agent, chain, caller";

// Databases written before a column existed get it added.
Status AddColumn(SqliteDb& db, const std::string& column) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT COUNT(*) FROM pragma_table_info('trail') WHERE name='" + column + "'"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (row && q.ColumnInt(0) > 0) return Status::OK();
  return db.Exec("ALTER TABLE trail ADD COLUMN " + column + " TEXT NOT NULL DEFAULT ''");
}

}  // namespace

Result<std::unique_ptr<Trail>> Trail::Open(Env& env, const std::string& state_dir,
                                           bool read_only) {
  ASSIGN_OR_RETURN(auto db, SqliteDb::Open(state_dir + "/trail.db", read_only));
  if (!read_only) {
    RETURN_IF_ERROR(db->Exec(kSchema));
    RETURN_IF_ERROR(AddColumn(*db, "chain"));
    RETURN_IF_ERROR(AddColumn(*db, "caller"));
  }
  return std::unique_ptr<Trail>(new Trail(env, std::move(db)));
}

Result<std::vector<TrailRecord>> Trail::Append(Transaction& txn,
                                                const std::vector<ObjectChange>& changes) {
  std::vector<TrailRecord> out;
  if (changes.empty()) return out;
  SqliteDb& db = txn.db();
  ASSIGN_OR_RETURN(auto insert, db.Prepare(
      "INSERT INTO trail(event_id, time_ns, kind, bucket, key, size, etag, mtime_ns, uid, "
      "user_agent, chain, caller) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)"));
  ASSIGN_OR_RETURN(auto upsert, db.Prepare("INSERT OR REPLACE INTO objects VALUES(?,?,?,?,?,?)"));
  ASSIGN_OR_RETURN(auto remove, db.Prepare("DELETE FROM objects WHERE bucket=? AND key=?"));
  int64_t now = env_.clock().NowNanos();
  for (const ObjectChange& c : changes) {
    TrailRecord r;
    r.event_id = NewUuid(env_.random());
    r.time_ns = now;
    r.change = c;
    insert.Reset();
    insert.Bind(1, r.event_id).Bind(2, now).Bind(3, static_cast<int64_t>(c.kind))
        .Bind(4, c.bucket).Bind(5, c.key).Bind(6, static_cast<int64_t>(c.size)).Bind(7, c.etag)
        .Bind(8, c.mtime_ns).Bind(9, static_cast<int64_t>(c.uid)).Bind(10, c.user_agent).Bind(11, c.chain)
        .Bind(12, c.caller);
    RETURN_IF_ERROR(insert.Run());
    r.seq = db.LastInsertRowId();
    // A kApiCall changed nothing: the index stays as it is.
    if (c.kind == ChangeKind::kCreated) {
      upsert.Reset();
      upsert.Bind(1, c.bucket).Bind(2, c.key).Bind(3, static_cast<int64_t>(c.size))
          .Bind(4, c.mtime_ns).Bind(5, c.etag).Bind(6, r.seq);
      RETURN_IF_ERROR(upsert.Run());
    } else if (c.kind == ChangeKind::kRemoved) {
      remove.Reset();
      remove.Bind(1, c.bucket).Bind(2, c.key);
      RETURN_IF_ERROR(remove.Run());
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<TrailRecord>> Trail::AppendDurably(const std::vector<ObjectChange>& changes) {
  if (changes.empty()) return std::vector<TrailRecord>();
  ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*db_));
  ASSIGN_OR_RETURN(auto records, Append(txn, changes));
  RETURN_IF_ERROR(txn.Commit());
  return records;
}

Result<std::optional<IndexEntry>> Trail::Lookup(const std::string& bucket, const std::string& key) {
  ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "SELECT size, mtime_ns, etag, seq FROM objects WHERE bucket=? AND key=?"));
  q.Bind(1, bucket).Bind(2, key);
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<IndexEntry>();
  return std::optional<IndexEntry>(IndexEntry{static_cast<uint64_t>(q.ColumnInt(0)),
                                              q.ColumnInt(1), q.ColumnText(2), q.ColumnInt(3)});
}

Status Trail::ForEachIndexed(const std::string& bucket, const std::string& prefix,
                             const std::function<void(const std::string&, const IndexEntry&)>& fn) {
  // key >= prefix AND key < prefix+0xFF.. selects the prefix through the
  // primary key instead of scanning the bucket.
  ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "SELECT key, size, mtime_ns, etag, seq FROM objects WHERE bucket=? AND key>=? AND key<?"));
  q.Bind(1, bucket).Bind(2, prefix).Bind(3, prefix + "\xff\xff\xff\xff");
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return Status::OK();
    std::string key = q.ColumnText(0);
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    fn(key, IndexEntry{static_cast<uint64_t>(q.ColumnInt(1)), q.ColumnInt(2), q.ColumnText(3),
                       q.ColumnInt(4)});
  }
}

Result<std::vector<std::string>> Trail::IndexedBuckets() {
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT DISTINCT bucket FROM objects"));
  std::vector<std::string> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(q.ColumnText(0));
  }
}

Result<std::vector<TrailRecord>> Trail::ReadRecords(SqliteStatement& q) {
  std::vector<TrailRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    TrailRecord r;
    r.seq = q.ColumnInt(0);
    r.event_id = q.ColumnText(1);
    r.time_ns = q.ColumnInt(2);
    int64_t kind = q.ColumnInt(3);
    r.change.kind = kind == 0 ? ChangeKind::kCreated : kind == 2 ? ChangeKind::kApiCall : ChangeKind::kRemoved;
    r.change.bucket = q.ColumnText(4);
    r.change.key = q.ColumnText(5);
    r.change.size = static_cast<uint64_t>(q.ColumnInt(6));
    r.change.etag = q.ColumnText(7);
    r.change.mtime_ns = q.ColumnInt(8);
    r.change.uid = static_cast<uint32_t>(q.ColumnInt(9));
    r.change.user_agent = q.ColumnText(10);
    r.change.chain = q.ColumnText(11);
    r.change.caller = q.ColumnText(12);
    out.push_back(std::move(r));
  }
}

Result<std::vector<TrailRecord>> Trail::Unpublished(int limit) {
  ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kRecordColumns +
                                        " FROM trail WHERE published=0 ORDER BY seq LIMIT ?"));
  q.Bind(1, static_cast<int64_t>(limit));
  return ReadRecords(q);
}

Status Trail::MarkPublished(int64_t upto_seq) {
  ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE trail SET published=1 WHERE published=0 AND seq<=?"));
  q.Bind(1, upto_seq);
  return q.Run();
}

Status Trail::TrimPublished(int64_t before_ns) {
  ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM trail WHERE published=1 AND time_ns<?"));
  q.Bind(1, before_ns);
  return q.Run();
}

Result<std::vector<TrailRecord>> Trail::Find(const TrailQuery& tq) {
  std::string sql = std::string("SELECT ") + kRecordColumns +
                    " FROM trail WHERE seq>? AND time_ns>=? AND (?='' OR bucket=?) AND "
                    "(?='' OR key=?) AND substr(key,1,length(?))=? ORDER BY seq LIMIT ?";
  ASSIGN_OR_RETURN(auto q, db_->Prepare(sql));
  q.Bind(1, tq.after_seq).Bind(2, tq.since_ns).Bind(3, tq.bucket).Bind(4, tq.bucket)
      .Bind(5, tq.key).Bind(6, tq.key).Bind(7, tq.prefix).Bind(8, tq.prefix)
      .Bind(9, static_cast<int64_t>(tq.limit));
  return ReadRecords(q);
}

Status Trail::SetIdentity(const TrailIdentity& id) {
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT OR REPLACE INTO trail_meta VALUES(?, ?)"));
  q.Bind(1, std::string_view("account")).Bind(2, id.account);
  RETURN_IF_ERROR(q.Run());
  q.Reset();
  q.Bind(1, std::string_view("region")).Bind(2, id.region);
  return q.Run();
}

Result<TrailIdentity> Trail::Identity() {
  TrailIdentity id;
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT k, v FROM trail_meta"));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return id;
    std::string k = q.ColumnText(0);
    if (k == "account") id.account = q.ColumnText(1);
    if (k == "region") id.region = q.ColumnText(1);
  }
}

Result<int64_t> Trail::LastSeq() {
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT COALESCE(MAX(seq), 0) FROM trail"));
  ASSIGN_OR_RETURN(bool row, q.Step());
  return row ? q.ColumnInt(0) : 0;
}

}  // namespace bucketd::events
