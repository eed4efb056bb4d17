// A helper process for the store's multi-process tests.
//
//   store_tool write-loop ROOT BUCKET KEY COUNT WRITER_ID
//       COUNT puts of self-checking versions (see version_payload.h).
//   store_tool put-stdin ROOT BUCKET KEY
//       one put streaming stdin (the test kills it half-way).
//   store_tool crash-before-rename ROOT BUCKET KEY
//       one put that SIGKILLs itself once the temp file is complete and
//       linked in the staging area, just before the rename.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/store.h"
#include "tests/integration/version_payload.h"

using namespace bucketd;

namespace {

class StdinSource final : public store::ByteSource {
 public:
  Result<size_t> Read(char* buf, size_t n) override { return Env::Default().fs().Read(0, buf, n); }
};

class CrashBeforeRenameFs final : public FsWrapper {
 public:
  using FsWrapper::FsWrapper;
  Status RenameAt(int a, const std::string& from, int b, const std::string& to, bool nr) override {
    if (from.rfind("put-", 0) == 0) ::kill(::getpid(), SIGKILL);
    return FsWrapper::RenameAt(a, from, b, to, nr);
  }
};

int Fail(const Status& s) {
  std::fprintf(stderr, "store_tool: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: store_tool MODE ROOT BUCKET KEY [args]\n");
    return 2;
  }
  std::string mode = argv[1], root = argv[2], bucket = argv[3], key = argv[4];
  CrashBeforeRenameFs crash_fs(Env::Default().fs());
  Env crash_env(crash_fs, Env::Default().clock());
  Env& env = mode == "crash-before-rename" ? crash_env : Env::Default();
  store::Options options;
  options.clean_staging = false;  // leave that to the test's own Open
  auto s = store::Store::Open(env, root, options);
  if (!s.ok()) return Fail(s.status());
  if (mode == "write-loop" && argc == 7) {
    int count = std::atoi(argv[5]);
    int writer = std::atoi(argv[6]);
    for (int i = 0; i < count; ++i) {
      auto r = (*s)->PutObjectFromString(bucket, key, testing::VersionPayload(writer, i));
      if (!r.ok()) return Fail(r.status());
    }
    return 0;
  }
  if (mode == "put-stdin" || mode == "crash-before-rename") {
    StdinSource src;
    auto r = (*s)->PutObject(bucket, key, src);
    return r.ok() ? 0 : Fail(r.status());
  }
  std::fprintf(stderr, "store_tool: unknown mode %s\n", mode.c_str());
  return 2;
}
