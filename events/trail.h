// The trail: bucketd's durable write-ahead log of object changes, and the
// object index derived from it, in one SQLite database in the state directory.
//
// Why SQLite (WAL mode, synchronous=FULL): one transaction appends a batch of
// records and updates the index together with one fsync (group commit), so a
// crash can never leave a record without its index update or the reverse;
// the runner's invocation queue will live in the same database and commit
// with the same fsync. Readers (bucketctl events …) open it read-only while
// the daemon writes.
//
// The index holds what bucketd last recorded for every object (size, mtime,
// ETag, sequence). Reconciliation compares the tree with it; its difference
// is exactly the set of changes not yet recorded.
//
// Format: docs/formats.md, "trail database". Thread-safety: one thread.
#ifndef BUCKETD_EVENTS_TRAIL_H_
#define BUCKETD_EVENTS_TRAIL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/sqlite_db.h"
#include "events/records.h"

namespace bucketd::events {

struct IndexEntry {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string etag;
  int64_t seq = 0;
};

struct TrailQuery {
  int64_t since_ns = 0;  // records at or after this time
  int64_t after_seq = 0;  // records with a larger sequence
  std::string bucket;     // empty: all
  std::string prefix;     // key prefix
  std::string key;        // exact key (empty: any)
  int limit = 1000;
};

class Trail {
 public:
  // The database file is <state_dir>/trail.db.
  static Result<std::unique_ptr<Trail>> Open(Env& env, const std::string& state_dir,
                                             bool read_only = false);

  // Appends the changes as records inside `txn` (a transaction on db()) and
  // applies them to the index; they are durable when the caller commits it,
  // together with whatever else it wrote there (the invocations the records
  // cause). Returns the records with their sequence numbers. IOError (e.g.
  // disk full): the caller's transaction rolls back and nothing is appended.
  Result<std::vector<TrailRecord>> Append(Transaction& txn, const std::vector<ObjectChange>& changes);
  // Append in a durable transaction of its own, for callers with nothing to
  // commit beside the records (tests, benchmarks, tools).
  Result<std::vector<TrailRecord>> AppendDurably(const std::vector<ObjectChange>& changes);
  // The database, for modules that keep their tables beside the trail's
  // (the runner's invocation queue).
  SqliteDb& db() { return *db_; }

  Result<std::optional<IndexEntry>> Lookup(const std::string& bucket, const std::string& key);
  // Every indexed key of `bucket` starting with `prefix`.
  Status ForEachIndexed(const std::string& bucket, const std::string& prefix,
                        const std::function<void(const std::string&, const IndexEntry&)>& fn);
  Result<std::vector<std::string>> IndexedBuckets();

  // Records not yet sealed into a published trail file, oldest first.
  Result<std::vector<TrailRecord>> Unpublished(int limit);
  Status MarkPublished(int64_t upto_seq);
  // Deletes published records recorded before `before_ns`.
  Status TrimPublished(int64_t before_ns);

  Result<std::vector<TrailRecord>> Find(const TrailQuery& q);
  // The account and region records are rendered with, kept in the database
  // so readers render records exactly as the daemon publishes them.
  Status SetIdentity(const TrailIdentity& id);
  Result<TrailIdentity> Identity();
  Result<int64_t> LastSeq();

 private:
  Trail(Env& env, std::unique_ptr<SqliteDb> db) : env_(env), db_(std::move(db)) {}
  Result<std::vector<TrailRecord>> ReadRecords(SqliteStatement& stmt);
  Env& env_;
  std::unique_ptr<SqliteDb> db_;
};

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_TRAIL_H_
