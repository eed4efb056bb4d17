// A function's deployment package: the zip of Code.ZipFile or of
// Code.S3Bucket/S3Key, unpacked into a directory of its own per version,
// <state-dir>/lambda/code/<FunctionName>/<digest>/, which then serves as the
// function's code directory (what Code.Directory names otherwise).
//
// Unpacked whole or not at all (into a temporary directory, then renamed);
// refused with a message naming the package and the entry: absolute paths,
// ".." segments, links, devices and other non-files, more than kMaxEntries
// entries or kMaxUnpackedBytes in all (Lambda's 250 MB), and what libarchive
// reports as corrupt. Files keep their owner's execute bit, nothing else:
// 0755 or 0644, directories 0755. The three newest versions of a function
// are kept; an environment still running an older one finishes its run.
#ifndef BUCKETD_RUNNER_CODE_PACKAGE_H_
#define BUCKETD_RUNNER_CODE_PACKAGE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "runner/function.h"
#include "store/store.h"

namespace bucketd::runner {

inline constexpr uint64_t kMaxUnpackedBytes = 250ull << 20;
inline constexpr uint64_t kMaxPackageBytes = 250ull << 20;
inline constexpr int kMaxEntries = 20000;

// Unpacks `zip` (named `source` in messages) into <parent>/<version>,
// whole or not at all. An existing version is reused as it is, unless
// `flags` has kNewVersionOnly: then it is AlreadyExists and
// nothing is changed. Returns the version's directory.
inline constexpr int kNewVersionOnly = 1;
Result<std::string> UnpackVersion(const std::string& parent, const std::string& version, std::string_view zip,
                                  const std::string& source, int flags);

// A package file's bytes (at most kMaxPackageBytes).
Result<std::string> ReadPackage(int fd, const std::string& source);

// `state_dir` made absolute: code and layer directories are named by it.
std::string AbsoluteStateDir(const std::string& state_dir);

// The directory `zip` (named `source` in messages) is unpacked in, for
// `function`; `digest` names the version (its bytes' hash or ETag). An
// existing directory of that version is reused as it is.
Result<std::string> UnpackCode(const std::string& state_dir, const std::string& function, const std::string& digest,
                               std::string_view zip, const std::string& source);

// Sets fn->code_directory for a function whose Code is a package: the
// ZipFile's bytes (the caller has checked that path like a program), or the
// S3Bucket/S3Key object's — taken only when it was written through the
// endpoint (by a principal the bucket's policies let write it) or is a file
// owned by bucketd's user or root, since a bucket's folder is where others
// drop files. Errors name the function's file and /Code.
Status ResolveCode(store::Store& store, const std::string& state_dir, Function* fn);

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_CODE_PACKAGE_H_
