// aws-chunked: the body framing of S3 uploads whose x-amz-content-sha256 is
// STREAMING-…: "<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n" chunks,
// a zero-size chunk, then (…-TRAILER forms) trailer lines "name:value\r\n",
// a signed form's "x-amz-trailer-signature:<sig>\r\n", and an empty line.
//
// The decoder yields only the object's bytes. Every chunk signature is
// checked as its chunk ends and the trailer's at the end, so an object whose
// bytes or checksum were changed on the way fails before the put renames it
// into place. Bounded: a chunk-size line or a trailer line of at most 4 KiB,
// at most 16 trailer lines, no size beyond 5 GiB (S3's single-put limit).
//
// Thread-safety: one thread.
#ifndef BUCKETD_API_AWS_CHUNKED_H_
#define BUCKETD_API_AWS_CHUNKED_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "api/s3_error.h"
#include "common/md5.h"
#include "sigv4/sigv4.h"
#include "store/store.h"

namespace bucketd::api {

struct ChunkSigning {
  std::string signing_key;
  sigv4::Scope scope;
  std::string amz_date;
  std::string seed_signature;
};

class AwsChunkedSource final : public store::ByteSource {
 public:
  using RawRead = std::function<Result<size_t>(char*, size_t)>;
  // `signing`: verify chunk signatures (the STREAMING-AWS4-HMAC-SHA256-…
  // forms); `trailer`: trailer lines follow the last chunk.
  AwsChunkedSource(RawRead raw, std::optional<ChunkSigning> signing, bool trailer);

  Result<size_t> Read(char* buf, size_t n) override;
  // Once Read said 0: the trailer's fields (names lower case).
  const std::map<std::string, std::string>& trailers() const { return trailers_; }
  uint64_t decoded_bytes() const { return decoded_; }
  // The S3 error behind a failed Read.
  const S3Error& error() const { return error_; }

 private:
  enum class State { kSizeLine, kData, kTrailer, kDone };
  Status Fail(int status, const char* code, const std::string& message);
  // Ensures `want` bytes are buffered (fewer at end of body).
  Status Fill(size_t want);
  // A line ending in CRLF, without it.
  Result<std::string> Line();
  Status StartChunk(const std::string& line);
  Status EndChunk();
  Status TrailerLine(const std::string& line);

  RawRead raw_;
  std::optional<ChunkSigning> signing_;
  bool trailer_;
  State state_ = State::kSizeLine;
  std::string buf_;
  size_t pos_ = 0;
  bool raw_eof_ = false;
  uint64_t chunk_left_ = 0;
  std::string chunk_signature_;
  std::unique_ptr<Digest> chunk_hash_;
  std::string previous_signature_;
  std::string trailer_text_;
  std::map<std::string, std::string> trailers_;
  uint64_t decoded_ = 0;
  S3Error error_;
};

}  // namespace bucketd::api

#endif  // BUCKETD_API_AWS_CHUNKED_H_
