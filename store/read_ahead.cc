#include "store/read_ahead.h"

#include <algorithm>
#include <cstring>
#include <exception>

namespace bucketd::store {

ReadAheadSource::ReadAheadSource(ByteSource& inner, size_t chunk, size_t depth)
    : inner_(inner), chunk_(std::max<size_t>(chunk, 1)) {
  free_.resize(std::max<size_t>(depth, 1));
  thread_ = std::thread([this] { Run(); });
}

ReadAheadSource::~ReadAheadSource() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void ReadAheadSource::Run() {
  for (;;) {
    std::string buf;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      buf = std::move(free_.back());
      free_.pop_back();
    }
    size_t filled = 0;
    Status end;
    bool ended = false;
    try {
      buf.resize(chunk_);
      while (filled < chunk_) {
        Result<size_t> got = inner_.Read(buf.data() + filled, chunk_ - filled);
        if (!got.ok() || *got == 0) {
          end = got.ok() ? Status::OK() : got.status();
          ended = true;
          break;
        }
        filled += *got;
      }
    } catch (const std::exception& e) {
      end = Status::IOError(std::string("reading ahead: ") + e.what());
      ended = true;
    }
    buf.resize(std::min(filled, buf.size()));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (filled > 0) full_.push_back(std::move(buf));
      if (ended) {
        ended_ = true;
        end_ = end;
      }
    }
    changed_.notify_all();
    if (ended) return;
  }
}

Result<size_t> ReadAheadSource::Read(char* out, size_t n) {
  if (pos_ == current_.size()) {
    std::unique_lock<std::mutex> lock(mu_);
    if (holding_) {
      free_.push_back(std::move(current_));
      holding_ = false;
      changed_.notify_all();
    }
    current_.clear();
    pos_ = 0;
    changed_.wait(lock, [&] { return !full_.empty() || ended_; });
    if (full_.empty()) {
      if (!end_.ok()) return end_;
      return size_t{0};
    }
    current_ = std::move(full_.front());
    full_.pop_front();
    holding_ = true;
  }
  size_t k = std::min(n, current_.size() - pos_);
  std::memcpy(out, current_.data() + pos_, k);
  pos_ += k;
  return k;
}

}  // namespace bucketd::store
