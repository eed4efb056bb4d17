// Small whole-file helpers over Fs, for configuration-sized files.
#ifndef BUCKETD_COMMON_FILE_UTIL_H_
#define BUCKETD_COMMON_FILE_UTIL_H_

#include <string>

#include "common/env.h"

namespace bucketd {

// The whole file at `path` (relative to `dir`, which may be AT_FDCWD).
// NotFound when it does not exist.
Result<std::string> ReadFileToString(Fs& fs, int dir, const std::string& path);

}  // namespace bucketd

#endif  // BUCKETD_COMMON_FILE_UTIL_H_
