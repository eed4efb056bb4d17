// A ByteSource read ahead on a thread of its own.
//
// A put does its own work on every chunk (MD5 for the ETag, the write) after
// the source did its (decompression, checks); on one thread the two add up.
// ReadAheadSource runs the inner source on a second thread with `depth`
// buffers of `chunk` bytes (the one being handed out and the rest filled
// ahead), so the two overlap: what a put costs becomes the larger of
// the two instead of their sum.
//
// The inner source is used only by that thread from construction until its
// end (Read returned 0 or an error) or the destructor, which stops it
// between two reads and joins it; whatever the inner source sets as it
// ends is visible to the reader once Read has returned 0.
#ifndef BUCKETD_STORE_READ_AHEAD_H_
#define BUCKETD_STORE_READ_AHEAD_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace bucketd::store {

class ReadAheadSource final : public ByteSource {
 public:
  explicit ReadAheadSource(ByteSource& inner, size_t chunk = 1 << 20, size_t depth = 4);
  ~ReadAheadSource() override;
  ReadAheadSource(const ReadAheadSource&) = delete;
  ReadAheadSource& operator=(const ReadAheadSource&) = delete;

  // The inner source's bytes in order, then its end: 0, or its error.
  Result<size_t> Read(char* buf, size_t n) override;

 private:
  void Run();

  ByteSource& inner_;
  const size_t chunk_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::string> full_;  // read, not yet handed out
  std::vector<std::string> free_;
  bool ended_ = false;  // the inner source ended: end_ says how
  bool stop_ = false;
  Status end_;
  std::string current_;  // being handed out, from pos_
  size_t pos_ = 0;
  bool holding_ = false;  // current_ is one of the buffers, to go back to free_
  std::thread thread_;  // last: started once the rest is ready
};

}  // namespace bucketd::store

#endif  // BUCKETD_STORE_READ_AHEAD_H_
