#include "cli/context.h"

#include <fcntl.h>

#include <cstdio>
#include <cstdlib>

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

Result<std::string> Context::StateDir() {
  if (!state_dir_.empty()) return state_dir_;
  const char* sd = std::getenv("STATE_DIRECTORY");
  if (sd != nullptr && *sd != '\0') return std::string(sd).substr(0, std::string(sd).find(':'));
  if (root_.empty()) {
    return Status::InvalidArgument("no state directory: pass --state-dir DIR or --root DIR");
  }
  return root_ + "/.bucketd";
}

Result<std::string> Context::ConfigDir() {
  if (!config_dir_.empty()) return config_dir_;
  const char* cd = std::getenv("CONFIGURATION_DIRECTORY");
  if (cd != nullptr && *cd != '\0') return std::string(cd).substr(0, std::string(cd).find(':'));
  return Status::InvalidArgument("no configuration directory: pass --config-dir DIR");
}

int Context::Fail(const Status& s) {
  std::fprintf(stderr, "bucketctl: %s\n", s.message().empty() ? s.ToString().c_str()
                                                               : s.message().c_str());
  return 1;
}

Result<std::unique_ptr<events::Trail>> Context::OpenTrail(bool read_only) {
  ASSIGN_OR_RETURN(std::string dir, StateDir());
  auto st = env_.fs().StatAt(AT_FDCWD, dir + "/trail.db", true);
  if (!st.ok()) {
    return Status::NotFound("no trail in '" + dir + "' (has bucketd run with this state directory?)");
  }
  return events::Trail::Open(env_, dir, read_only);
}

}  // namespace bucketd::cli
