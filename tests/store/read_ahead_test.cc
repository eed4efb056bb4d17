#include "store/read_ahead.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/store/pieces_source.h"

namespace bucketd::store {
namespace {

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
