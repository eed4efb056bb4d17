#include "store/read_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace bucketd::store {
namespace {

// Hands out `data` in pieces of `piece` bytes, then `end` (0 when ok).
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

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

Result<std::string> ReadAll(ByteSource& src, size_t step) {
  std::string out;
  std::string buf(step, '\0');
  for (;;) {
    ASSIGN_OR_RETURN(size_t got, src.Read(buf.data(), buf.size()));
    if (got == 0) return out;
    out.append(buf.data(), got);
  }
}

TEST(ReadAheadSourceTest, HandsOutTheInnerBytesInOrderWhateverTheSizesOfReads) {
  const std::string data = Pattern(20'011);
  for (size_t chunk : {1u, 7u, 4096u, 1u << 20}) {
    for (size_t step : {1u, 333u, 65536u}) {
      PiecesSource inner(data, 1000);
      ReadAheadSource ahead(inner, chunk, 3);
      Result<std::string> got = ReadAll(ahead, step);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, data) << "chunk " << chunk << " step " << step;
      EXPECT_TRUE(inner.ended_ok);  // what the source set at its end is seen
    }
  }
}

TEST(ReadAheadSourceTest, AnEmptySourceEndsAtOnce) {
  PiecesSource inner("", 10);
  ReadAheadSource ahead(inner);
  char c;
  Result<size_t> got = ahead.Read(&c, 1);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
  got = ahead.Read(&c, 1);  // and stays ended
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
}

TEST(ReadAheadSourceTest, TheInnerErrorComesAfterEveryByteReadBeforeIt) {
  const std::string data = Pattern(10'000);
  PiecesSource inner(data, 999, Status::Corruption("entry 2: CRC mismatch"));
  ReadAheadSource ahead(inner, 4096, 2);
  std::string out;
  char buf[500];
  Status end;
  for (int i = 0; i < 1000; ++i) {
    Result<size_t> got = ahead.Read(buf, sizeof buf);
    if (!got.ok()) {
      end = got.status();
      break;
    }
    ASSERT_GT(*got, 0u) << "ended without the error";
    out.append(buf, *got);
  }
  EXPECT_EQ(out, data);
  EXPECT_EQ(end.code(), StatusCode::kCorruption);
  EXPECT_EQ(end.message(), "entry 2: CRC mismatch");
}

TEST(ReadAheadSourceTest, ReadsAtMostDepthChunksAheadAndStopsWhenDroppedEarly) {
  const std::string data = Pattern(1 << 20);
  PiecesSource inner(data, 100);
  {
    ReadAheadSource ahead(inner, 1000, 2);
    char buf[10];
    ASSERT_TRUE(ahead.Read(buf, sizeof buf).ok());
    // Dropped with most of the source unread: the destructor must stop and
    // join the reading thread.
  }
  // Two buffers in all (the one handed out and one ahead), 10 reads each.
  EXPECT_LE(inner.reads.load(), 2 * 10);
}

}  // namespace
}  // namespace bucketd::store
