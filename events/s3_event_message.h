// The S3 event message: what a bucket notification configuration delivers to
// its Lambda function or queue ({"Records": [...]}), as the S3 user guide's
// "Event message structure" page gives it (eventVersion 2.5), built from the
// trail record so it carries the record's own time and caller.
#ifndef BUCKETD_EVENTS_S3_EVENT_MESSAGE_H_
#define BUCKETD_EVENTS_S3_EVENT_MESSAGE_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "events/records.h"

namespace bucketd::events {

// {"Records": [one record]} for an object change; `configuration_id` is the
// notification configuration's Id.
nlohmann::json S3EventMessage(const TrailRecord& r, const TrailIdentity& id, const std::string& configuration_id);

// A key as S3 writes it into the message: URL-encoded form style (a space
// becomes '+', '+' becomes %2B), '/' and [A-Za-z0-9._*-] kept.
std::string S3EventKey(std::string_view key);

// "ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload", "ObjectRemoved:Delete", …
std::string S3EventName(const TrailRecord& r);

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_S3_EVENT_MESSAGE_H_
