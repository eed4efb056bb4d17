// Time formatting shared by the store, the events and the CLI.
#ifndef BUCKETD_COMMON_TIME_FORMAT_H_
#define BUCKETD_COMMON_TIME_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace bucketd {

// "2026-11-22T09:26:10.123Z" (RFC 3339, UTC, milliseconds), as S3 prints
// LastModified in listings.
std::string FormatRfc3339Millis(int64_t unix_nanos);

// "Sun, 22 Nov 2026 09:26:10 GMT" (RFC 7231), as S3 sends Last-Modified.
std::string FormatHttpDate(int64_t unix_nanos);

// `unix_nanos` in UTC through strftime's `format` (whole seconds), e.g.
// "%Y%m%dT%H%M%SZ" for SigV4's X-Amz-Date.
std::string FormatUtc(int64_t unix_nanos, const char* format);

// An HTTP date (RFC 7231's IMF-fixdate, "Sun, 22 Nov 2026 09:26:10 GMT";
// also RFC 850 and asctime forms, as HTTP asks servers to accept) as Unix
// nanoseconds; InvalidArgument otherwise.
Result<int64_t> ParseHttpDate(std::string_view text);

// A point in time given as RFC 3339 ("2026-11-22T09:00:00Z", fractional
// seconds and "+01:00" offsets allowed) or as an age before `now_ns` ("30s",
// "10m", "2h", "7d"). InvalidArgument says which forms are accepted.
Result<int64_t> ParseTimeSpec(std::string_view spec, int64_t now_ns);

}  // namespace bucketd

#endif  // BUCKETD_COMMON_TIME_FORMAT_H_
