// The store's metadata key: the secret that seals object metadata records
// (store/object_meta.h) and proves an invocation chain came from bucketd.
//
// It lives in <root>/.meta-key, 32 random bytes, mode 0640 (bucketd's user and
// its group, who run bucketctl; never others: whoever reads it can forge
// metadata). The first opener that may write the root creates it; later ones
// read it. An opener that can read none (another user's bucketctl) gets an
// empty key: it trusts no stored metadata, and a put that would set any
// (Content-Type, x-amz-meta-*) is refused rather than silently dropped.
#ifndef BUCKETD_STORE_META_KEY_H_
#define BUCKETD_STORE_META_KEY_H_

#include <string>

#include "common/env.h"
#include "common/status.h"

namespace bucketd::store {

inline constexpr char kMetaKeyFile[] = ".meta-key";
inline constexpr size_t kMetaKeyBytes = 32;

// The key of the store whose root directory is `root_fd` (`root` names it in
// messages), created when missing and `create` is set; "" when this user may
// not read it. A key file of the wrong size, or one others may read or
// write, is an error naming the file and the fix.
Result<std::string> LoadMetaKey(Fs& fs, int root_fd, int staging_fd, const std::string& root, bool create);

// "<chain>:<proof>": what an invocation is told in $BUCKETD_CHAIN, so that a
// bucketctl it runs can show the chain is bucketd's and not typed by hand.
std::string SignChain(std::string_view key, std::string_view chain);
// The chain of a signed value; InvalidArgument when the proof is missing or
// wrong (or there is no key to check it with).
Result<std::string> VerifyChain(std::string_view key, std::string_view signed_chain);

}  // namespace bucketd::store

#endif  // BUCKETD_STORE_META_KEY_H_
