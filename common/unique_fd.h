// UniqueFd: sole owner of a file descriptor; closes it on destruction.
//
// Thread-safety: like a unique_ptr; one owner at a time.
#ifndef BUCKETD_COMMON_UNIQUE_FD_H_
#define BUCKETD_COMMON_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace bucketd {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership; the caller closes the result.
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) (void)::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace bucketd

#endif  // BUCKETD_COMMON_UNIQUE_FD_H_
