// Event records: what bucketd writes to its trail for every object change
// (a CloudTrail record, as AWS writes for S3 data events) and the two
// EventBridge events rules match against (DESIGN.md, "Events").
#ifndef BUCKETD_EVENTS_RECORDS_H_
#define BUCKETD_EVENTS_RECORDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.h"

namespace bucketd::events {

// kApiCall: an API call that changed no object (a read the event selectors
// ask for, a refused write); its `caller` says what it was (events/api_calls.h).
enum class ChangeKind { kCreated, kRemoved, kApiCall };

// One object change, as the watcher or a reconciliation found it.
struct ObjectChange {
  ChangeKind kind = ChangeKind::kCreated;
  std::string bucket;
  std::string key;
  uint64_t size = 0;      // kCreated only
  std::string etag;       // kCreated only, with quotes
  int64_t mtime_ns = 0;   // kCreated only
  uint32_t uid = 0;       // owner of the file (kCreated); the writer, as far as we know
  std::string user_agent = "bucketd/inotify";  // how it was noticed
  // The invocation chain that wrote the object ("<chain id>:<hop>", from the
  // object's x-amz-meta-bucketd-chain), so the runner can stop loops; empty
  // when no invocation wrote it.
  std::string chain;
  // For a change made through the API endpoint: the CloudTrail fields of
  // that call, as JSON text (store::ObjectInfo::caller); empty otherwise.
  std::string caller;
};

// The user-metadata name (without "x-amz-meta-") that carries ObjectChange::chain.
inline constexpr char kChainMetadata[] = "bucketd-chain";

// Where records say they come from.
struct TrailIdentity {
  std::string account = "000000000000";
  std::string region = "local";
};

// A change once it is in the trail: sequence number (which is also the S3
// sequencer), ids and time are fixed from then on.
struct TrailRecord {
  int64_t seq = 0;
  std::string event_id;   // UUID
  int64_t time_ns = 0;    // when bucketd recorded it
  ObjectChange change;
  std::string EventName() const;      // PutObject | DeleteObject
  std::string Sequencer() const;      // 16 upper-case hex digits of seq
};

// The CloudTrail record (eventVersion 1.09, data event).
nlohmann::json CloudTrailRecord(const TrailRecord& r, const TrailIdentity& id);

// The two EventBridge events for a record: the CloudTrail shape ("AWS API
// Call via CloudTrail", detail = the record) and the S3 shape ("Object
// Created" / "Object Deleted"); a kApiCall record has the first only. Ids are derived from the record's eventID, so
// the same record always yields the same events.
std::vector<nlohmann::json> EventBridgeEvents(const TrailRecord& r, const TrailIdentity& id);

// A random (version 4) UUID.
std::string NewUuid(Random& random);

// "2026-11-22T09:26:10Z" (CloudTrail's eventTime has whole seconds).
std::string Rfc3339Seconds(int64_t unix_nanos);

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_RECORDS_H_
