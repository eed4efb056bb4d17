// Local-file side of cp/mv: walking a directory, writing downloads atomically.
#ifndef BUCKETD_CLI_LOCAL_FILES_H_
#define BUCKETD_CLI_LOCAL_FILES_H_

#include <functional>
#include <string>
#include <vector>

#include "common/env.h"
#include "store/store.h"

namespace bucketd::cli {

bool IsLocalDir(Fs& fs, const std::string& path);

// Regular files under `dir`, as sorted paths relative to it ("a/b.txt").
Result<std::vector<std::string>> ListLocalFiles(Fs& fs, const std::string& dir);

// Creates `path` (and missing parent directories) with what `produce` writes
// to the sink: into a temp file beside it, fsync'd, then renamed, so a
// failed download never leaves a partial file under the final name.
Status WriteLocalFileAtomically(Env& env, const std::string& path,
                                const std::function<Status(store::ByteSink&)>& produce);

}  // namespace bucketd::cli

#endif  // BUCKETD_CLI_LOCAL_FILES_H_
