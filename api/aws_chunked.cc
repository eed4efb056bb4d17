#include "api/aws_chunked.h"

#include <algorithm>
#include <cstring>

namespace bucketd::api {
namespace {

constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxTrailers = 16;
constexpr uint64_t kMaxChunk = 5ULL << 30;
constexpr size_t kReadSize = 64 << 10;

}  // namespace

AwsChunkedSource::AwsChunkedSource(RawRead raw, std::optional<ChunkSigning> signing, bool trailer)
    : raw_(std::move(raw)), signing_(std::move(signing)), trailer_(trailer) {
  if (signing_) previous_signature_ = signing_->seed_signature;
}

Status AwsChunkedSource::Fail(int status, const char* code, const std::string& message) {
  error_ = S3Error::Make(status, code, message);
  state_ = State::kDone;
  return Status::InvalidArgument(std::string(code) + ": " + message);
}

Status AwsChunkedSource::Fill(size_t want) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  while (buf_.size() - pos_ < want && !raw_eof_) {
    if (pos_ > kReadSize) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    size_t old = buf_.size();
    buf_.resize(old + kReadSize);
    auto n = raw_(buf_.data() + old, kReadSize);
    buf_.resize(old + (n.ok() ? *n : 0));
    if (!n.ok()) {
      return Fail(400, "IncompleteBody", "the request body ended or broke off: " + n.status().message());
    }
    if (*n == 0) raw_eof_ = true;
  }
  return Status::OK();
}

Result<std::string> AwsChunkedSource::Line() {
  for (;;) {
    size_t crlf = buf_.find("\r\n", pos_);
    if (crlf != std::string::npos && crlf - pos_ <= kMaxLine) {
      std::string line = buf_.substr(pos_, crlf - pos_);
      pos_ = crlf + 2;
      return line;
    }
    if (buf_.size() - pos_ > kMaxLine) {
      return Fail(400, "InvalidRequest", "aws-chunked: a chunk header or trailer line longer than 4096 bytes");
    }
    if (raw_eof_) return Fail(400, "IncompleteBody", "aws-chunked: the body ended inside a chunk header or trailer");
    RETURN_IF_ERROR(Fill(buf_.size() - pos_ + 1));
  }
}

Status AwsChunkedSource::StartChunk(const std::string& line) {
  size_t semi = line.find(';');
  std::string hex = line.substr(0, semi);
  if (hex.empty() || hex.size() > 16 || !std::all_of(hex.begin(), hex.end(), ::isxdigit)) {
    return Fail(400, "InvalidRequest", "aws-chunked: expected a hexadecimal chunk size, got '" + line.substr(0, 64) + "'");
  }
  chunk_left_ = std::stoull(hex, nullptr, 16);
  if (chunk_left_ > kMaxChunk) return Fail(400, "InvalidRequest", "aws-chunked: a chunk larger than 5 GiB");
  chunk_signature_.clear();
  if (semi != std::string::npos) {
    std::string ext = line.substr(semi + 1);
    static constexpr std::string_view kSig = "chunk-signature=";
    if (ext.rfind(kSig, 0) != 0) {
      return Fail(400, "InvalidRequest", "aws-chunked: expected ';chunk-signature=…' after the chunk size");
    }
    chunk_signature_ = ext.substr(kSig.size());
  }
  if (signing_ && chunk_signature_.empty()) {
    return Fail(403, "SignatureDoesNotMatch", "aws-chunked: a chunk without its chunk-signature");
  }
  if (signing_) chunk_hash_ = std::make_unique<Digest>(Digest::Algorithm::kSha256);
  state_ = State::kData;
  return Status::OK();
}

Status AwsChunkedSource::EndChunk() {
  RETURN_IF_ERROR(Fill(2));
  if (buf_.compare(pos_, 2, "\r\n") != 0) {
    return Fail(400, "IncompleteBody", "aws-chunked: a chunk's data is not followed by CRLF (its size is wrong)");
  }
  pos_ += 2;
  state_ = State::kSizeLine;
  if (!signing_) return Status::OK();
  std::string expected = sigv4::Signature(
      signing_->signing_key,
      sigv4::ChunkStringToSign(signing_->amz_date, signing_->scope, previous_signature_, chunk_hash_->HexDigest()));
  if (!ConstantTimeEquals(expected, chunk_signature_)) {
    return Fail(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                                              "you provided (a chunk signature of the aws-chunked body).");
  }
  previous_signature_ = chunk_signature_;
  return Status::OK();
}

Status AwsChunkedSource::TrailerLine(const std::string& line) {
  if (line.empty()) {
    if (signing_ && trailer_) {
      return Fail(403, "SignatureDoesNotMatch", "aws-chunked: the trailer has no x-amz-trailer-signature");
    }
    state_ = State::kDone;
    return Status::OK();
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Fail(400, "InvalidRequest", "aws-chunked: expected a trailer line 'name:value', got '" + line.substr(0, 64) + "'");
  }
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  std::string value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  if (name == "x-amz-trailer-signature") {
    if (!signing_) return Fail(400, "InvalidRequest", "aws-chunked: a trailer signature on an unsigned payload");
    std::string expected = sigv4::Signature(
        signing_->signing_key,
        sigv4::TrailerStringToSign(signing_->amz_date, signing_->scope, previous_signature_, trailer_text_));
    if (!ConstantTimeEquals(expected, value)) {
      return Fail(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                                                "you provided (the aws-chunked trailer's).");
    }
    // The blank line that ends the body may follow; nothing else may.
    RETURN_IF_ERROR(Fill(2));
    if (buf_.size() - pos_ >= 2 && buf_.compare(pos_, 2, "\r\n") == 0) pos_ += 2;
    state_ = State::kDone;
    return Status::OK();
  }
  if (trailers_.size() >= kMaxTrailers) return Fail(400, "InvalidRequest", "aws-chunked: more than 16 trailer lines");
  trailers_[name] = value;
  trailer_text_ += name + ":" + value + "\n";
  return Status::OK();
}

Result<size_t> AwsChunkedSource::Read(char* out, size_t n) {
  for (;;) {
    switch (state_) {
      case State::kDone:
        if (!error_.code.empty() && error_.status != 500) return Status::InvalidArgument(error_.code + ": " + error_.message);
        return size_t{0};
      case State::kSizeLine: {
        ASSIGN_OR_RETURN(std::string line, Line());
        RETURN_IF_ERROR(StartChunk(line));
        if (chunk_left_ == 0) {
          RETURN_IF_ERROR(Fill(2));
          if (signing_) {
            // The final chunk is signed too (its hash: the empty string's).
            std::string expected = sigv4::Signature(
                signing_->signing_key, sigv4::ChunkStringToSign(signing_->amz_date, signing_->scope,
                                                                previous_signature_, chunk_hash_->HexDigest()));
            if (!ConstantTimeEquals(expected, chunk_signature_)) {
              return Fail(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                        "signature you provided (the final aws-chunked chunk's).");
            }
            previous_signature_ = chunk_signature_;
          }
          state_ = State::kTrailer;
          if (!trailer_) {
            // Only the CRLF that ends the body remains.
            if (buf_.size() - pos_ >= 2 && buf_.compare(pos_, 2, "\r\n") == 0) pos_ += 2;
            state_ = State::kDone;
          }
        }
        break;
      }
      case State::kData: {
        if (chunk_left_ == 0) {
          RETURN_IF_ERROR(EndChunk());
          break;
        }
        RETURN_IF_ERROR(Fill(1));
        size_t have = buf_.size() - pos_;
        if (have == 0) return Fail(400, "IncompleteBody", "aws-chunked: the body ended inside a chunk");
        size_t take = static_cast<size_t>(std::min<uint64_t>({chunk_left_, have, n}));
        std::memcpy(out, buf_.data() + pos_, take);
        if (chunk_hash_) chunk_hash_->Update(std::string_view(out, take));
        pos_ += take;
        chunk_left_ -= take;
        decoded_ += take;
        return take;
      }
      case State::kTrailer: {
        ASSIGN_OR_RETURN(std::string line, Line());
        RETURN_IF_ERROR(TrailerLine(line));
        break;
      }
    }
  }
}

}  // namespace bucketd::api
