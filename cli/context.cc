#include "cli/context.h"

#include <cstdio>

namespace bucketd::cli {

Result<store::Store*> Context::Store() {
  if (!store_) {
    if (root_.empty()) {
      return Status::InvalidArgument("no store given: pass --root DIR or set BUCKETD_ROOT");
    }
    // Safe beside a running daemon: Open only removes temp files whose
    // writer is gone (their lock is free).
    ASSIGN_OR_RETURN(store_, store::Store::Open(env_, root_));
  }
  return store_.get();
}

int Context::Fail(const Status& s) {
  std::fprintf(stderr, "bucketctl: %s\n", s.message().empty() ? s.ToString().c_str()
                                                               : s.message().c_str());
  return 1;
}

}  // namespace bucketd::cli
