// A ByteSource that hands out a string in pieces of a few bytes, then an
// end (0, or the error it was given), as an archive entry or a socket does.
#ifndef BUCKETD_TESTS_STORE_PIECES_SOURCE_H_
#define BUCKETD_TESTS_STORE_PIECES_SOURCE_H_

#include <algorithm>
#include <atomic>
#include <string>

#include "store/store.h"

namespace bucketd::store {

class PiecesSource final : public ByteSource {
 public:
  PiecesSource(std::string data, size_t piece, Status end = Status::OK())
      : data_(std::move(data)), piece_(piece), end_(std::move(end)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    ++reads;
    if (at_ == data_.size()) {
      if (!end_.ok()) return end_;
      ended_ok = true;
      return size_t{0};
    }
    size_t k = std::min({n, piece_, data_.size() - at_});
    data_.copy(buf, k, at_);
    at_ += k;
    return k;
  }
  std::atomic<int> reads{0};
  bool ended_ok = false;  // written by the reading thread before its 0

 private:
  std::string data_;
  size_t piece_;
  Status end_;
  size_t at_ = 0;
};

}  // namespace bucketd::store

#endif  // BUCKETD_TESTS_STORE_PIECES_SOURCE_H_
