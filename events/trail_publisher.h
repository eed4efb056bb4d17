// Seals trail records into CloudTrail log files in the store:
// <prefix>AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
//   <account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<first>-<last>.json.gz
// each a gzip'd {"Records":[…]}. The name comes from the records' sequence
// range and is written create-only, so publishing again after a crash is a
// no-op.
#ifndef BUCKETD_EVENTS_TRAIL_PUBLISHER_H_
#define BUCKETD_EVENTS_TRAIL_PUBLISHER_H_

#include <string>
#include <vector>

#include "events/records.h"
#include "store/store.h"

namespace bucketd::events {

// The key a file holding `records` (non-empty, in order) gets.
std::string TrailFileKey(const std::string& prefix, const TrailIdentity& id,
                         const std::vector<TrailRecord>& records);

// gzip (RFC 1952) of `data`.
Result<std::string> Gzip(std::string_view data);
// Inverse of Gzip, for readers and tests. Corruption on bad input.
Result<std::string> Gunzip(std::string_view data);

// Writes one sealed file with `records` into `bucket`; `rendered[i]` is
// CloudTrailRecord(records[i]).dump() (the caller has it already, from sizing
// the file). OK also when the file was already there (published before a
// crash).
Status PublishTrailFile(store::Store& store, const std::string& bucket, const std::string& prefix,
                        const TrailIdentity& id, const std::vector<TrailRecord>& records,
                        const std::vector<std::string>& rendered);

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_TRAIL_PUBLISHER_H_
