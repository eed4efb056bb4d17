#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace bucketd::cli {

Progress::Progress(Clock& clock, std::string label, uint64_t total)
    : clock_(clock),
      label_(std::move(label)),
      total_(total),
      enabled_(total >= kMinBytes && ::isatty(2)),
      start_ns_(clock.NowNanos()) {}

Progress::~Progress() {
  if (enabled_) std::fputs("\r\033[K", stderr);
}

void Progress::Update(uint64_t done) {
  if (!enabled_) return;
  int64_t now = clock_.NowNanos();
  if (done < total_ && now - last_draw_ns_ < 100000000) return;  // 10 redraws/s
  last_draw_ns_ = now;
  double secs = static_cast<double>(now - start_ns_) / 1e9;
  double mib = 1024.0 * 1024.0;
  double rate = secs > 0 ? static_cast<double>(done) / mib / secs : 0;
  int width = 30;
  int filled = static_cast<int>(width * (total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1));
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(static_cast<size_t>(width), '.');
  std::fprintf(stderr, "\r[%s] %.1f/%.1f MiB (%.1f MiB/s) %s\033[K", bar.c_str(),
               static_cast<double>(done) / mib, static_cast<double>(total_) / mib, rate,
               label_.c_str());
}

}  // namespace bucketd::cli
