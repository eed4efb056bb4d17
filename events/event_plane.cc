#include "events/event_plane.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/xattr.h>

#include <algorithm>

#include "common/text.h"
#include "events/open_check.h"
#include "events/reconcile.h"
#include "events/trail_publisher.h"
#include "store/object_meta.h"

namespace bucketd::events {

namespace {

constexpr int64_t kSecond = 1'000'000'000;
// Without leases, a file this recently modified may still be being written.
constexpr int64_t kQuietAgeNs = kSecond;
constexpr int kPublishBatch = 20000;
// Warnings about unreadable entries a minute; the rest are counted.
constexpr int kSkipWarnings = 20;
constexpr int64_t kSkipWindowNs = 60 * kSecond;

bool Beneath(const std::string& key, const std::vector<std::string>& dirs) {
  return std::any_of(dirs.begin(), dirs.end(), [&](const std::string& d) { return key.compare(0, d.size(), d) == 0; });
}

}  // namespace

EventPlane::EventPlane(Env& env, store::Store& store, Trail& trail, Watcher& watcher,
                       EventPlaneOptions options)
    : env_(env),
      store_(store),
      trail_(trail),
      watcher_(watcher),
      options_(std::move(options)),
      buckets_dir_(store.root() + "/buckets") {}

void EventPlane::Log(LogLevel level, const std::string& message) {
  if (level >= LogLevel::kWarning) stats_.last_error = message;
  if (options_.log) options_.log(level, message);
}

Status EventPlane::Start() {
  RETURN_IF_ERROR(trail_.SetIdentity(options_.identity));
  Status made = store_.CreateBucket(options_.trail_bucket);
  if (!made.ok() && !made.IsAlreadyExists()) return made;
  RETURN_IF_ERROR(watcher_.Start(buckets_dir_, {store_.BucketPath(options_.trail_bucket)}));
  // Hints that arrive while we reconcile are handled afterwards; they find
  // the index already up to date and add nothing.
  RETURN_IF_ERROR(ReconcileAll());
  auto pending = trail_.Unpublished(1);
  if (pending.ok() && !pending->empty()) {
    oldest_unpublished_ns_ = pending->front().time_ns;
    unpublished_bytes_ = options_.seal_max_bytes;  // unknown: let the next tick look
  }
  stats_.watches = watcher_.watch_count();
  return Status::OK();
}

bool EventPlane::PathToKey(const std::string& path, std::string* bucket, std::string* key) const {
  if (path.compare(0, buckets_dir_.size(), buckets_dir_) != 0) return false;
  if (path.size() <= buckets_dir_.size() + 1 || path[buckets_dir_.size()] != '/') return false;
  std::string rest = path.substr(buckets_dir_.size() + 1);
  size_t slash = rest.find('/');
  *bucket = rest.substr(0, slash);
  *key = slash == std::string::npos ? "" : rest.substr(slash + 1);
  return *bucket != options_.trail_bucket && store::ValidateBucketName(*bucket).ok();
}

std::string EventPlane::PathOf(const std::string& bucket, const std::string& key) const {
  return buckets_dir_ + "/" + bucket + "/" + key;
}

Result<std::optional<IndexEntry>> EventPlane::Lookup(const std::string& bucket,
                                                     const std::string& key) {
  auto it = overlay_.find({bucket, key});
  if (it != overlay_.end()) return it->second;
  return trail_.Lookup(bucket, key);
}

void EventPlane::AddChange(ObjectChange change) {
  Key k{change.bucket, change.key};
  if (change.kind == ChangeKind::kCreated) {
    overlay_[k] = IndexEntry{change.size, change.mtime_ns, change.etag, 0};
  } else {
    overlay_[k] = std::nullopt;
  }
  batch_.push_back(std::move(change));
}

Status EventPlane::CheckKey(const std::string& bucket, const std::string& key, bool check_open,
                            int64_t closed_at) {
  if (key.empty()) return Status::OK();
  if (Status valid = store::ValidateKey(key); !valid.ok()) {
    Skip(bucket, key, valid, /*unreadable=*/false);  // no object: S3 has no such key
    return Status::OK();
  }
  ASSIGN_OR_RETURN(std::optional<IndexEntry> prev, Lookup(bucket, key));
  auto st = store_.StatObject(bucket, key);
  if (!st.ok()) {
    if (!st.status().IsNotFound()) {
      Skip(bucket, key, st.status());  // unknown, not gone
      return Status::OK();
    }
    open_files_.erase({bucket, key});
    skipped_.erase({bucket, key});
    hashing_.erase({bucket, key});
    stats_.hashing = static_cast<int>(hashing_.size());
    if (prev) {
      std::string caller =
          options_.api_deletes ? options_.api_deletes->Take(bucket, key, env_.clock().NowNanos()) : "";
      AddChange(ObjectChange{ChangeKind::kRemoved, bucket, key, 0, "", 0, 0, "bucketd/inotify", "", caller});
    }
    return Status::OK();
  }
  if (prev && prev->size == st->size && prev->mtime_ns == st->mtime_ns) return Status::OK();
  // Only whole versions are recorded: never while a writer has the file
  // open, on every path — a close hint may be stale (the writer truncated
  // and is writing again), so it is checked too.
  // Held while the version is read (small files: at once), so a writer who
  // opens the file meanwhile is noticed (events/open_check.h).
  std::optional<ReadLease> lease;
  if (key.back() != '/') {
    OpenState open;
    if (options_.open_check) {
      open = options_.open_check(PathOf(bucket, key));
    } else {
      lease.emplace(PathOf(bucket, key));
      open = lease->state();
    }
    bool written_since_close = closed_at == 0 || st->mtime_ns > closed_at;
    bool unsure = open == OpenState::kUnknown &&
                  (check_open ? env_.clock().NowNanos() - st->mtime_ns < kQuietAgeNs
                              : closed_at != 0 && written_since_close);
    // A young empty file seen with no close: its creator may still be inside
    // open(2) — the name exists before the write access does, an IN_CREATE
    // or a scan comes in between, and the lease is granted. Its close, or a
    // look once it is a second old, records it. Not the store's own writes
    // (the endpoint's empty PUT): they appear whole, with their metadata.
    bool maybe_opening = check_open && st->size == 0 && env_.clock().NowNanos() - st->mtime_ns < kQuietAgeNs &&
                         ::lgetxattr(PathOf(bucket, key).c_str(), store::kMetaXattr, nullptr, 0) < 0;
    if (open == OpenState::kOpenForWriting || unsure || maybe_opening) {
      open_files_.insert({bucket, key});  // its close (or a recheck) will record it
      return Status::OK();
    }
  }
  open_files_.erase({bucket, key});
  if (auto h = hashing_.find({bucket, key}); h != hashing_.end()) {
    // The version being hashed is still the file's: let it finish.
    if (h->second->stat().size == st->size && h->second->stat().mtime_ns == st->mtime_ns) return Status::OK();
    hashing_.erase(h);
  }
  auto stepped = store_.HeadObjectInSteps(bucket, key, options_.inline_hash_bytes);
  if (lease && lease->Broken()) {
    open_files_.insert({bucket, key});  // a writer came while it was read: its close records it
    return Status::OK();
  }
  lease.reset();  // a writer waits for nothing longer
  if (stepped.ok() && stepped->hash) {
    hashing_[{bucket, key}] = std::move(stepped->hash);
    stats_.hashing = static_cast<int>(hashing_.size());
    return Status::OK();
  }
  Result<store::ObjectInfo> head = stepped.ok() ? Result<store::ObjectInfo>(std::move(*stepped->info))
                                                : Result<store::ObjectInfo>(stepped.status());
  if (!head.ok()) {
    if (head.status().code() == StatusCode::kUnavailable) {  // changing under us
      open_files_.insert({bucket, key});
      return Status::OK();
    }
    if (head.status().IsNotFound()) return CheckKey(bucket, key, false);
    Skip(bucket, key, head.status());
    return Status::OK();
  }
  RecordVersion(bucket, key, *head, st->uid);
  return Status::OK();
}

void EventPlane::RecordVersion(const std::string& bucket, const std::string& key, const store::ObjectInfo& head,
                               uint32_t uid) {
  skipped_.erase({bucket, key});
  ObjectChange c{ChangeKind::kCreated, bucket, key, head.size, head.etag,
                 head.last_modified, uid, "bucketd/inotify", "", head.caller};
  if (auto chain = head.user_metadata.find(kChainMetadata); chain != head.user_metadata.end()) {
    c.chain = chain->second;
  }
  AddChange(std::move(c));
}

void EventPlane::StepHashes() {
  if (hashing_.empty() || stats_.degraded) return;
  // Round robin: each turn steps the next file, so one huge file does not
  // hold back the smaller ones found after it.
  auto it = hashing_.upper_bound(last_hashed_);
  if (it == hashing_.end()) it = hashing_.begin();
  last_hashed_ = it->first;
  auto [bucket, key] = it->first;
  auto done = it->second->Step(options_.hash_step_bytes);
  if (options_.after_hash_step) options_.after_hash_step();
  if (done.ok() && !*done) return;
  std::unique_ptr<store::ObjectHash> hash = std::move(it->second);
  hashing_.erase(it);
  stats_.hashing = static_cast<int>(hashing_.size());
  auto head = done.ok() ? hash->Finish() : Result<store::ObjectInfo>(done.status());
  if (head.ok()) {
    // The key may name another file by now (a rename over it): the record
    // is the hashed version's only while the key still shows that version.
    auto st = store_.StatObject(bucket, key);
    bool writer = !options_.open_check && ReadLease(PathOf(bucket, key)).state() == OpenState::kOpenForWriting;
    if (st.ok() && st->size == head->size && st->mtime_ns == head->last_modified && !writer) {
      RecordVersion(bucket, key, *head, hash->stat().uid);
      return;
    }
  }
  // Changed, replaced or gone meanwhile, or unreadable: look again as after
  // any hint (an open writer waits for its close, a new version is hashed).
  (void)CheckKey(bucket, key, true);
}

Status EventPlane::ScanPrefix(const std::string& bucket, const std::string& dir_key) {
  std::vector<store::ObjectStat> on_disk;
  std::vector<std::string> unreadable;  // directories: what is beneath them is unknown, not gone
  Status scanned = store_.ScanObjects(
      bucket, dir_key, [&](const store::ObjectStat& o) { on_disk.push_back(o); },
      [&](const std::string& dir, const Status& why) {
        unreadable.push_back(dir);
        Skip(bucket, dir, why);
      });
  if (!scanned.ok() && !scanned.IsNotFound()) return scanned;  // a vanished bucket is empty
  std::map<std::string, IndexEntry> indexed;
  RETURN_IF_ERROR(trail_.ForEachIndexed(bucket, dir_key, [&](const std::string& k, const IndexEntry& e) {
    indexed[k] = e;
  }));
  for (auto it = overlay_.lower_bound({bucket, dir_key});
       it != overlay_.end() && it->first.first == bucket &&
       it->first.second.compare(0, dir_key.size(), dir_key) == 0;
       ++it) {
    if (it->second) {
      indexed[it->first.second] = *it->second;
    } else {
      indexed.erase(it->first.second);
    }
  }
  TreeDiff diff = Diff(indexed, on_disk);
  for (const auto& o : diff.created_or_changed) RETURN_IF_ERROR(CheckKey(bucket, o.key, true));
  for (const auto& k : diff.removed) {
    if (!Beneath(k, unreadable)) RETURN_IF_ERROR(CheckKey(bucket, k, false));
  }
  // Directories that became readable again are read now.
  for (auto it = skipped_.lower_bound({bucket, dir_key});
       it != skipped_.end() && it->first == bucket && it->second.compare(0, dir_key.size(), dir_key) == 0;) {
    bool dir = it->second.back() == '/';
    it = dir && !Beneath(it->second, unreadable) ? skipped_.erase(it) : std::next(it);
  }
  return Status::OK();
}

void EventPlane::Skip(const std::string& bucket, const std::string& key, const Status& why, bool unreadable) {
  open_files_.erase({bucket, key});
  if (!skipped_.insert({bucket, key}).second) return;  // warned already
  int64_t now = env_.clock().NowNanos();
  FlushSkipWarnings(now);
  if (skip_warnings_ >= kSkipWarnings) {
    ++skips_unsaid_;
    return;
  }
  ++skip_warnings_;
  std::string where = "s3://" + bucket + "/" + PrintableText(key);
  if (!unreadable) {
    Log(LogLevel::kWarning, "skipping " + where + ": the name is no S3 key (" + why.message() +
                                "); it is not recorded or listed until it is renamed");
    return;
  }
  Log(LogLevel::kWarning, "skipping " + where + " (" + (key.back() == '/' ? "a directory" : "a file") +
                              " bucketd cannot read: " + why.message() + "); it is recorded once it can be read");
}

void EventPlane::FlushSkipWarnings(int64_t now) {
  if (now - skip_window_ns_ < kSkipWindowNs) return;
  if (skips_unsaid_ > 0) {
    Log(LogLevel::kWarning, std::to_string(skips_unsaid_) + " more unreadable entries skipped in the last minute "
                            "(not listed; " + std::to_string(skipped_.size()) + " unreadable now)");
  }
  skip_window_ns_ = now;
  skip_warnings_ = skips_unsaid_ = 0;
}

std::vector<ObjectChange> EventPlane::TakeChanges() {
  // The overlay stays until the outcome is known: hints handled before it
  // must still see the batch's effect on the index. API calls are kept
  // until then too: no rescan would find them again.
  calls_taken_.clear();
  for (const ObjectChange& c : batch_) {
    if (c.kind == ChangeKind::kApiCall) calls_taken_.push_back(c);
  }
  return std::exchange(batch_, {});
}

void EventPlane::NotRecorded(const Status& why) {
  overlay_.clear();
  if (options_.api_calls != nullptr) options_.api_calls->Requeue(std::exchange(calls_taken_, {}));
  // Nothing was recorded, so the index still says what was recorded; a
  // rescan once appends work again finds these changes (and any later).
  if (!stats_.degraded) {
    Log(LogLevel::kError, "cannot append to the trail: " + why.message() +
                              "; not taking new work, will rescan and retry every " +
                              std::to_string(options_.retry_ns / kSecond) + " s");
  }
  stats_.degraded = true;
  rescan_needed_ = true;
  next_retry_ns_ = env_.clock().NowNanos() + options_.retry_ns;
}

void EventPlane::Recorded(const std::vector<TrailRecord>& records) {
  overlay_.clear();
  calls_taken_.clear();
  if (records.empty()) return;
  if (stats_.degraded) Log(LogLevel::kInfo, "trail appends work again; resuming");
  stats_.degraded = false;
  stats_.records += records.size();
  last_append_ns_ = records.back().time_ns;
  if (oldest_unpublished_ns_ == 0) oldest_unpublished_ns_ = records.front().time_ns;
  for (const auto& r : records) {
    unpublished_bytes_ += CloudTrailRecord(r, options_.identity).dump().size() + 1;
  }
}

Result<std::vector<TrailRecord>> RecordPending(EventPlane& plane, Trail& trail) {
  auto records = trail.AppendDurably(plane.TakeChanges());
  if (!records.ok()) {
    plane.NotRecorded(records.status());
    return records.status();
  }
  plane.Recorded(*records);
  return records;
}

void EventPlane::HandleWatchLimit(const WatchHint& hint) {
  std::string bucket, key;
  bool all = !PathToKey(hint.path, &bucket, &key);
  int dirs = 0;
  auto buckets = store_.ListBuckets();
  if (buckets.ok()) {
    for (const auto& b : *buckets) {
      if (b.name == options_.trail_bucket) continue;
      std::set<std::string> seen;
      (void)store_.ScanObjects(b.name, "", [&](const store::ObjectStat& o) {
        for (size_t p = o.key.find('/'); p != std::string::npos; p = o.key.find('/', p + 1)) {
          seen.insert(o.key.substr(0, p));
        }
      });
      dirs += 1 + static_cast<int>(seen.size());
      if (all) fallback_buckets_.insert(b.name);
    }
  }
  if (!all) fallback_buckets_.insert(bucket);
  std::string limit = "?";
  if (auto fd = env_.fs().OpenAt(AT_FDCWD, "/proc/sys/fs/inotify/max_user_watches", O_RDONLY); fd.ok()) {
    char buf[32];
    auto n = env_.fs().Read(fd->get(), buf, sizeof(buf) - 1);
    if (n.ok()) limit = std::string(buf, *n).substr(0, std::string(buf, *n).find('\n'));
  }
  stats_.watch_limited = true;
  Log(LogLevel::kError,
      "inotify watch limit reached watching '" + hint.path + "' (fs.inotify.max_user_watches = " +
          limit + "; the buckets hold about " + std::to_string(dirs) +
          " directories, so at least that many watches are needed: sysctl "
          "fs.inotify.max_user_watches=" + std::to_string(std::max(dirs * 2, 8192)) +
          "); until then new objects there are found by a rescan every " +
          std::to_string(options_.fallback_rescan_ns / kSecond) + " s");
}

void EventPlane::HandleHint(const WatchHint& hint) {
  Status s;
  std::string bucket, key;
  switch (hint.kind) {
    case WatchHint::Kind::kRescanAll:
      ++stats_.rescans;
      Log(LogLevel::kWarning, "file events were lost (inotify queue overflow or lost watch); "
                              "rescanning every bucket");
      rescan_needed_ = true;
      return;
    case WatchHint::Kind::kWatchLimit:
      HandleWatchLimit(hint);
      return;
    case WatchHint::Kind::kDirAppeared:
    case WatchHint::Kind::kDirGone:
      if (!PathToKey(hint.path, &bucket, &key)) return;
      s = ScanPrefix(bucket, key.empty() ? "" : key + "/");
      if (s.ok() && !key.empty()) s = CheckKey(bucket, key + "/", false);  // a folder marker
      break;
    case WatchHint::Kind::kFile:
      if (!PathToKey(hint.path, &bucket, &key)) return;
      // A plain IN_CREATE is either a file being written (its close comes
      // later) or a file published whole (a hard link, O_TMPFILE+linkat,
      // which never closes here): the lease check tells them apart.
      {
        bool closed = (hint.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0;
        s = CheckKey(bucket, key, !closed, closed ? hint.read_ns : 0);
      }
      if (s.ok() && !key.empty() && (hint.mask & IN_ATTRIB) && (hint.mask & IN_ISDIR)) {
        s = CheckKey(bucket, key + "/", false);  // a folder marker (the bucket itself is none)
      }
      break;
  }
  if (!s.ok()) Log(LogLevel::kWarning, "checking '" + hint.path + "': " + s.message());
}

Status EventPlane::ProcessHints() {
  std::vector<WatchHint> hints = watcher_.Drain();
  if (stats_.degraded) {
    rescan_needed_ = true;  // the retry's rescan covers whatever these say
    return Status::OK();
  }
  for (const auto& h : hints) HandleHint(h);
  if (options_.api_calls != nullptr) {
    uint64_t dropped = 0;
    for (ObjectChange& call : options_.api_calls->Take(&dropped)) batch_.push_back(std::move(call));
    if (dropped > 0) {
      Log(LogLevel::kWarning, std::to_string(dropped) + " API call record(s) were dropped while the trail could "
                              "not append (at most " + std::to_string(ApiCalls::kMaxPending) + " wait)");
    }
  }
  if (rescan_needed_) {
    Status s = ReconcileAll();
    if (!s.ok()) {
      Log(LogLevel::kWarning, "rescan failed: " + s.message() + "; retrying in " +
                                  std::to_string(options_.retry_ns / kSecond) + " s");
      next_retry_ns_ = env_.clock().NowNanos() + options_.retry_ns;
    }
    return s;
  }
  stats_.watches = watcher_.watch_count();
  return Status::OK();
}

Status EventPlane::ReconcileAll() {
  // Until a rescan has gone through, another one is due (a failed one is
  // retried, never forgotten).
  rescan_needed_ = true;
  std::set<std::string> buckets;
  ASSIGN_OR_RETURN(auto listed, store_.ListBuckets());
  for (const auto& b : listed) buckets.insert(b.name);
  ASSIGN_OR_RETURN(auto indexed, trail_.IndexedBuckets());
  buckets.insert(indexed.begin(), indexed.end());
  buckets.erase(options_.trail_bucket);
  for (const auto& b : buckets) RETURN_IF_ERROR(ScanPrefix(b, ""));
  rescan_needed_ = false;
  return Status::OK();
}

Status EventPlane::PublishPending(bool force) {
  int64_t now = env_.clock().NowNanos();
  if (oldest_unpublished_ns_ == 0) return Status::OK();
  bool due = force || now - last_append_ns_ >= options_.seal_idle_ns ||
             now - oldest_unpublished_ns_ >= options_.seal_max_age_ns;
  // Reading the unpublished records costs; do it only when a file is due.
  if (!due && unpublished_bytes_ < options_.seal_max_bytes) return Status::OK();
  for (;;) {
    ASSIGN_OR_RETURN(auto records, trail_.Unpublished(kPublishBatch));
    if (records.empty()) {
      oldest_unpublished_ns_ = 0;
      unpublished_bytes_ = 0;
      return Status::OK();
    }
    std::vector<TrailRecord> chunk;
    std::vector<std::string> rendered;
    size_t bytes = 0;
    auto seal = [&]() -> Status {
      RETURN_IF_ERROR(PublishTrailFile(store_, options_.trail_bucket, options_.trail_prefix,
                                       options_.identity, chunk, rendered));
      RETURN_IF_ERROR(trail_.MarkPublished(chunk.back().seq));
      ++stats_.sealed_files;
      chunk.clear();
      rendered.clear();
      bytes = 0;
      return Status::OK();
    };
    for (auto& r : records) {
      std::string json = CloudTrailRecord(r, options_.identity).dump();
      if (!chunk.empty() && bytes + json.size() + 1 > options_.seal_max_bytes) RETURN_IF_ERROR(seal());
      bytes += json.size() + 1;
      chunk.push_back(std::move(r));
      rendered.push_back(std::move(json));
    }
    if (!chunk.empty()) {
      if (!due && static_cast<int>(records.size()) < kPublishBatch) {
        oldest_unpublished_ns_ = chunk.front().time_ns;
        unpublished_bytes_ = bytes;
        return Status::OK();
      }
      RETURN_IF_ERROR(seal());
    }
  }
}

void EventPlane::ExpireSealedFiles() {
  int64_t now = env_.clock().NowNanos();
  (void)trail_.TrimPublished(now - options_.local_retention_ns);
  store::ListRequest req;
  req.prefix = options_.trail_prefix + "AWSLogs/";
  for (;;) {
    auto page = store_.ListObjectsV2(options_.trail_bucket, req);
    if (!page.ok()) return;
    for (const auto& o : page->contents) {
      if (now - o.last_modified > options_.sealed_retention_ns) {
        (void)store_.DeleteObject(options_.trail_bucket, o.key);
      }
    }
    if (!page->is_truncated) return;
    req.continuation_token = page->next_continuation_token;
  }
}

int64_t EventPlane::OnTick() {
  int64_t now = env_.clock().NowNanos();
  FlushSkipWarnings(now);
  if (rescan_needed_ && now >= next_retry_ns_) {
    Status s = ReconcileAll();
    if (!s.ok()) {
      if (!stats_.degraded) Log(LogLevel::kWarning, "rescan failed: " + s.message());
      next_retry_ns_ = now + options_.retry_ns;
    }
  }
  StepHashes();
  if (!open_files_.empty() && now >= next_open_check_ns_) {
    std::set<Key> files = std::exchange(open_files_, {});
    for (const auto& [bucket, key] : files) (void)CheckKey(bucket, key, true);
    next_open_check_ns_ = now + options_.open_recheck_ns;
  }
  if (!fallback_buckets_.empty() && now >= next_fallback_ns_) {
    for (const auto& b : fallback_buckets_) (void)ScanPrefix(b, "");
    next_fallback_ns_ = now + options_.fallback_rescan_ns;
  }
  if (!stats_.degraded && now >= next_seal_retry_ns_) {
    Status s = PublishPending(false);
    if (!s.ok()) {
      if (!seal_failing_) {
        Log(LogLevel::kWarning, "sealing the trail failed: " + s.message() + "; will retry every " +
                                    std::to_string(options_.retry_ns / kSecond) + " s");
      }
      seal_failing_ = true;
      next_seal_retry_ns_ = now + options_.retry_ns;
    } else if (seal_failing_) {
      seal_failing_ = false;
      Log(LogLevel::kInfo, "sealing the trail works again");
    }
  }
  if (now >= next_expiry_ns_) {
    ExpireSealedFiles();
    next_expiry_ns_ = now + 3600 * kSecond;
  }
  int64_t wait = 3600 * kSecond;
  if (oldest_unpublished_ns_ != 0) {
    int64_t due = std::min(last_append_ns_ + options_.seal_idle_ns,
                           oldest_unpublished_ns_ + options_.seal_max_age_ns);
    wait = std::min(wait, std::max<int64_t>(std::max(due, next_seal_retry_ns_) - now, 10'000'000));
  }
  if (!open_files_.empty()) wait = std::min(wait, options_.open_recheck_ns);
  if (!hashing_.empty() && !stats_.degraded) wait = 0;  // the next step, after the loop's other work
  if (!fallback_buckets_.empty()) wait = std::min(wait, options_.fallback_rescan_ns);
  if (rescan_needed_) wait = std::min(wait, std::max<int64_t>(next_retry_ns_ - now, 10'000'000));
  return wait;
}

}  // namespace bucketd::events
