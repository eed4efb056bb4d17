#include "api/put_body.h"

#include <algorithm>

namespace bucketd::api {
namespace {

S3Error Bad(int status, const char* code, std::string message) { return S3Error::Make(status, code, std::move(message)); }

}  // namespace

std::vector<std::string> SplitHeaderList(const std::string& v, bool lower) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (lower) std::transform(item.begin(), item.end(), item.begin(), ::tolower);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

PutBody::PutBody(http::Exchange& exchange, const Authenticated& auth) : exchange_(exchange), auth_(auth) {}

bool PutBody::Prepare(S3Error* error) {
  const http::Request& r = exchange_.request();
  const std::string& mode = auth_.content_sha256;
  bool streaming = mode.rfind("STREAMING-", 0) == 0;
  if (streaming) {
    std::optional<ChunkSigning> signing;
    if (mode != sigv4::kStreamingUnsignedTrailer) {
      signing = ChunkSigning{auth_.signing_key, auth_.scope, auth_.amz_date, auth_.seed_signature};
    }
    bool trailer = mode != sigv4::kStreamingSigned;
    chunked_ = std::make_unique<AwsChunkedSource>(
        [this](char* b, size_t n) { return exchange_.ReadBody(b, n); }, std::move(signing), trailer);
    const std::string* decoded = r.Find("x-amz-decoded-content-length");
    if (decoded != nullptr) {
      if (decoded->empty() || decoded->size() > 19 || !std::all_of(decoded->begin(), decoded->end(), ::isdigit)) {
        *error = Bad(400, "InvalidArgument", "x-amz-decoded-content-length must be a number of bytes");
        return false;
      }
      decoded_length_ = std::stoull(*decoded);
    } else if (mode == sigv4::kStreamingSigned) {
      *error = Bad(411, "MissingContentLength", "You must provide the x-amz-decoded-content-length HTTP header.");
      return false;
    }
  } else if (mode != sigv4::kUnsignedPayload) {
    expected_sha256_ = mode;
    std::transform(expected_sha256_.begin(), expected_sha256_.end(), expected_sha256_.begin(), ::tolower);
    sha256_ = std::make_unique<Digest>(Digest::Algorithm::kSha256);
  }
  if (const std::string* md5 = r.Find("content-md5")) {
    if (!Base64Decode(*md5, &expected_md5_) || expected_md5_.size() != 16) {
      *error = Bad(400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
      return false;
    }
    md5_ = std::make_unique<Digest>(Digest::Algorithm::kMd5);
  }
  if (const std::string* t = r.Find("x-amz-trailer")) trailer_names_ = SplitHeaderList(*t);
  // A checksum in a header, or announced for the trailer.
  std::vector<std::string> names = trailer_names_;
  for (const http::Header& h : r.headers) {
    if (h.name.rfind("x-amz-checksum-", 0) == 0 && h.name != "x-amz-checksum-mode" && h.name != "x-amz-checksum-type" &&
        h.name != "x-amz-checksum-algorithm") {
      expected_[h.name] = h.value;
      names.push_back(h.name);
    }
  }
  if (!trailer_names_.empty() && !chunked_) {
    *error = Bad(400, "InvalidRequest", "x-amz-trailer needs an aws-chunked body (a STREAMING-… x-amz-content-sha256)");
    return false;
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : names) {
    auto a = name.rfind("x-amz-checksum-", 0) == 0 ? ParseChecksumAlgorithm(name.substr(15)) : std::nullopt;
    if (!a) {
      *error = Bad(400, "InvalidRequest", "Value for x-amz-checksum or x-amz-trailer '" + name +
                                             "' is not supported; expected x-amz-checksum-crc32, -crc32c, "
                                             "-crc64nvme, -sha1 or -sha256.");
      return false;
    }
    checksums_.push_back(std::make_unique<Checksum>(*a));
  }
  if (checksums_.size() > 1) {
    *error = Bad(400, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
    return false;
  }
  if (const std::string* ce = r.Find("content-encoding")) {
    for (const std::string& item : SplitHeaderList(*ce)) {
      if (item != "aws-chunked") content_encoding_ += (content_encoding_.empty() ? "" : ",") + item;
    }
  }
  return true;
}

Status PutBody::Fail(S3Error e) {
  error_ = std::move(e);
  return Status::InvalidArgument(error_->code + ": " + error_->message);
}

Result<size_t> PutBody::Read(char* buf, size_t n) {
  if (done_) return size_t{0};
  Result<size_t> got = chunked_ ? chunked_->Read(buf, n) : exchange_.ReadBody(buf, n);
  if (!got.ok()) {
    if (chunked_ && !chunked_->error().code.empty()) return Fail(chunked_->error());
    return Fail(Bad(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length "
                                           "HTTP header (" + got.status().message() + ")"));
  }
  std::string_view data(buf, *got);
  if (sha256_) sha256_->Update(data);
  if (md5_) md5_->Update(data);
  for (auto& c : checksums_) c->Update(data);
  bytes_ += *got;
  if (*got == 0) {
    done_ = true;
    RETURN_IF_ERROR(Finish());
  }
  return got;
}

Status PutBody::Finish() {
  if (decoded_length_ && *decoded_length_ != bytes_) {
    return Fail(Bad(400, "IncompleteBody", "The decoded body has " + std::to_string(bytes_) +
                                               " bytes, not the x-amz-decoded-content-length of " +
                                               std::to_string(*decoded_length_)));
  }
  if (sha256_ && sha256_->HexDigest() != expected_sha256_) {
    return Fail(Bad(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."));
  }
  if (md5_ && md5_->Final() != expected_md5_) {
    return Fail(Bad(400, "BadDigest", "The Content-MD5 you specified did not match what we received."));
  }
  for (auto& c : checksums_) {
    std::string name = std::string("x-amz-checksum-") + ChecksumName(c->algorithm());
    std::string expected;
    if (auto it = expected_.find(name); it != expected_.end()) expected = it->second;
    if (chunked_) {
      if (auto it = chunked_->trailers().find(name); it != chunked_->trailers().end()) expected = it->second;
    }
    if (expected.empty()) {
      return Fail(Bad(400, "InvalidRequest", "The upload announced " + name + " in x-amz-trailer but sent none."));
    }
    std::string actual = c->Base64();
    if (actual != expected) {
      return Fail(Bad(400, "BadDigest", "The " + std::string(ChecksumElement(c->algorithm())).substr(8) +
                                            " you specified did not match the calculated checksum."));
    }
    verified_[name] = actual;
  }
  return Status::OK();
}

}  // namespace bucketd::api
