// The event plane: turns watcher hints into durable trail records, keeps the
// object index, catches up at startup and after lost events, and seals the
// trail into CloudTrail files in the store.
//
// The plane finds changes; it does not commit them. Its caller owns the unit
// of work: it takes the batch (TakeChanges), appends it to the trail in its
// own transaction with whatever the records cause, and reports the outcome
// (Recorded or NotRecorded). daemon/manager.h is that caller.
//
// Guarantees (tests in tests/events/):
//  * every object change becomes exactly one record (group commit per batch
//    of hints);
//  * a file still open for writing fires nothing; its close fires once;
//  * after a queue overflow, a lost watch, a restart or a failed append, the
//    tree is compared with the index and exactly the differences are recorded;
//  * the trail bucket itself is never watched, so the trail records nothing
//    about itself.
//
// Thread-safety: one thread (the daemon's main loop) calls everything.
#ifndef BUCKETD_EVENTS_EVENT_PLANE_H_
#define BUCKETD_EVENTS_EVENT_PLANE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "events/api_calls.h"
#include "events/api_deletes.h"
#include "events/records.h"
#include "events/open_check.h"
#include "events/trail.h"
#include "events/watcher.h"
#include "store/store.h"

namespace bucketd::events {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

struct EventPlaneOptions {
  std::string trail_bucket = "bucketd-trail";  // created at start when missing
  std::string trail_prefix;                    // before "AWSLogs/"
  TrailIdentity identity;
  int64_t seal_idle_ns = 1'000'000'000;        // seal after 1 s without new records,
  int64_t seal_max_age_ns = 60'000'000'000;    // or when the oldest is 60 s old,
  size_t seal_max_bytes = 4 << 20;             // or at 4 MiB of JSON
  int64_t local_retention_ns = 7LL * 24 * 3600 * 1'000'000'000;   // records kept for lookups
  int64_t sealed_retention_ns = 90LL * 24 * 3600 * 1'000'000'000; // sealed files kept
  int64_t fallback_rescan_ns = 5'000'000'000;  // rescans of unwatched trees
  int64_t open_recheck_ns = 250'000'000;       // files seen open for writing
  int64_t retry_ns = 2'000'000'000;            // after a failed append (disk full)
  // A new version's MD5 is computed at once up to this size; a bigger one
  // is hashed in steps of hash_step_bytes, one per turn of the main loop,
  // so that a huge file (a 20 GB sparse one costs its uploader nothing)
  // never holds the loop: it keeps answering, petting the watchdog and
  // recording other files, and the big file's record follows when its hash
  // is done (after READY, when it was found by the startup catch-up).
  uint64_t inline_hash_bytes = 8 << 20;
  uint64_t hash_step_bytes = 8 << 20;  // ~15 ms of MD5 here: what a request may wait
  // Called after every step (a test seam: a slow disk).
  std::function<void()> after_hash_step;
  // Whether a process has the file open for writing (a test seam; the
  // default takes a read lease, events/open_check.h).
  std::function<OpenState(const std::string& path)> open_check;
  std::function<void(LogLevel, const std::string&)> log;  // may be empty
  // Deletes the API endpoint makes (may be null: no endpoint).
  ApiDeletes* api_deletes = nullptr;
  // Calls the endpoint makes that change no object (may be null).
  ApiCalls* api_calls = nullptr;
};

struct EventPlaneStats {
  uint64_t records = 0;
  uint64_t rescans = 0;
  uint64_t sealed_files = 0;
  int watches = 0;
  bool degraded = false;   // appends failing (e.g. disk full): no new work is taken
  bool watch_limited = false;
  int hashing = 0;         // versions whose ETag is being computed in steps
  std::string last_error;
};

class EventPlane {
 public:
  // All references must outlive the plane.
  EventPlane(Env& env, store::Store& store, Trail& trail, Watcher& watcher,
             EventPlaneOptions options);

  // Creates the trail bucket if needed, starts watching, then finds every
  // change made while bucketd was down (startup catch-up; take them with
  // TakeChanges).
  Status Start();
  int wake_fd() const { return watcher_.wake_fd(); }
  // Readable while API calls wait to be recorded; -1 (poll skips it) while
  // appends fail, when they wait in their bounded queue.
  int api_wake_fd() const { return options_.api_calls && !stats_.degraded ? options_.api_calls->wake_fd() : -1; }
  // Handles every waiting hint; the changes they reveal join the batch, and
  // so do the API calls waiting to be recorded.
  Status ProcessHints();
  // The batch of changes found since the last call, in order. The caller
  // appends them (Trail::Append) and then calls exactly one of Recorded or
  // NotRecorded before the plane is used again.
  std::vector<ObjectChange> TakeChanges();
  // The taken changes are durable as `records`.
  void Recorded(const std::vector<TrailRecord>& records);
  // The taken changes were not appended (`why`: e.g. disk full): the plane
  // stops taking new work and rescans every retry period until an append
  // works again.
  void NotRecorded(const Status& why);
  // Periodic work (recheck open files, fallback rescans, retries, sealing,
  // retention). Returns nanoseconds until it wants to run again.
  int64_t OnTick();
  // Compares every bucket with the index and records the differences.
  Status ReconcileAll();
  // Seals what is due (everything when force) into trail files.
  Status PublishPending(bool force);
  const EventPlaneStats& stats() const { return stats_; }

 private:
  using Key = std::pair<std::string, std::string>;  // bucket, key

  bool PathToKey(const std::string& path, std::string* bucket, std::string* key) const;
  std::string PathOf(const std::string& bucket, const std::string& key) const;
  Result<std::optional<IndexEntry>> Lookup(const std::string& bucket, const std::string& key);
  // closed_at: a close (or a rename into place) of this file was read then
  // (0: no such hint, or its time is unknown).
  Status CheckKey(const std::string& bucket, const std::string& key, bool check_open, int64_t closed_at = 0);
  Status ScanPrefix(const std::string& bucket, const std::string& dir_key);
  // A key (or a directory, its key ending in '/') that bucketd cannot read,
  // such as an uploader's chmod 000: skipped with one warning (at most
  // kSkipWarnings a minute, then a count), never a reason to stop a start
  // or a rescan; its next hint (chmod is IN_ATTRIB) or rescan tries again.
  // Names that are no S3 key (not UTF-8, over 1,024 bytes: `unreadable`
  // false) are skipped the same way, with their own warning.
  void Skip(const std::string& bucket, const std::string& key, const Status& why, bool unreadable = true);
  // One step of the oldest pending hash; its change joins the batch when done.
  void StepHashes();
  void RecordVersion(const std::string& bucket, const std::string& key, const store::ObjectInfo& head, uint32_t uid);
  void FlushSkipWarnings(int64_t now);
  void AddChange(ObjectChange change);
  void HandleHint(const WatchHint& hint);
  void HandleWatchLimit(const WatchHint& hint);
  void ExpireSealedFiles();
  void Log(LogLevel level, const std::string& message);

  Env& env_;
  store::Store& store_;
  Trail& trail_;
  Watcher& watcher_;
  const EventPlaneOptions options_;
  const std::string buckets_dir_;

  std::vector<ObjectChange> batch_;
  std::vector<ObjectChange> calls_taken_;              // the kApiCall changes of the batch taken
  std::map<Key, std::optional<IndexEntry>> overlay_;  // the batch's effect on the index
  std::set<Key> open_files_;                           // seen open for writing
  std::map<Key, std::unique_ptr<store::ObjectHash>> hashing_;  // big versions, hashed a step a turn
  Key last_hashed_;                                    // the round robin's place
  std::set<Key> skipped_;                              // unreadable, warned about
  int64_t skip_window_ns_ = 0;                         // the minute skip warnings are counted in
  int skip_warnings_ = 0, skips_unsaid_ = 0;
  std::set<std::string> fallback_buckets_;             // not (fully) watched
  bool rescan_needed_ = false;
  int64_t next_retry_ns_ = 0;
  int64_t next_fallback_ns_ = 0;
  int64_t next_open_check_ns_ = 0;
  int64_t next_expiry_ns_ = 0;
  int64_t next_seal_retry_ns_ = 0;  // after a failed seal (one warning until it works again)
  bool seal_failing_ = false;
  int64_t last_append_ns_ = 0;
  int64_t oldest_unpublished_ns_ = 0;  // 0: nothing waits
  size_t unpublished_bytes_ = 0;       // JSON size of what waits (estimate after a restart)
  EventPlaneStats stats_;
};

// Appends the plane's batch in a durable transaction of its own and reports
// the outcome to the plane, for callers whose records cause nothing else
// (tests, benchmarks). Returns the new records.
Result<std::vector<TrailRecord>> RecordPending(EventPlane& plane, Trail& trail);

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_EVENT_PLANE_H_
