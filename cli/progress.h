// A one-line transfer progress display, shown only on a terminal and only
// for transfers large enough to need it.
#ifndef BUCKETD_CLI_PROGRESS_H_
#define BUCKETD_CLI_PROGRESS_H_

#include <cstdint>
#include <string>

#include "common/env.h"

namespace bucketd::cli {

class Progress {
 public:
  // Shows nothing unless stderr is a TTY and total >= kMinBytes.
  Progress(Clock& clock, std::string label, uint64_t total);
  ~Progress();
  void Update(uint64_t done);

  static constexpr uint64_t kMinBytes = 4 << 20;

 private:
  Clock& clock_;
  std::string label_;
  uint64_t total_;
  bool enabled_;
  int64_t start_ns_;
  int64_t last_draw_ns_ = 0;
};

}  // namespace bucketd::cli

#endif  // BUCKETD_CLI_PROGRESS_H_
