// S3's rules for bucket names and object keys, plus the extra rules a key
// must meet to be stored as a file path (see store.h and docs/keys.md).
#include <algorithm>
#include <array>
#include <charconv>

#include "store/store.h"

#include "common/text.h"

namespace bucketd::store {

namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool LooksLikeIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find('.', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view part = s.substr(i, j - i);
    if (part.empty() || part.size() > 3) return false;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
    }
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}

Status BadBucket(std::string_view bucket, std::string_view why) {
  return Status::InvalidArgument("invalid bucket name '" + std::string(bucket) + "': " +
                                 std::string(why));
}

Status BadKey(std::string_view key, std::string_view why) {
  std::string shown = PrintableText(key.substr(0, 200));
  return Status::InvalidArgument("invalid key '" + shown + (key.size() > 200 ? "…" : "") +
                                 "': " + std::string(why));
}

}  // namespace

Status ValidateBucketName(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return BadBucket(b, "must be 3 to 63 characters long");
  for (char c : b) {
    if (!IsLowerAlnum(c) && c != '.' && c != '-') {
      return BadBucket(b, "only lower-case letters, digits, '.' and '-' are allowed");
    }
  }
  if (!IsLowerAlnum(b.front()) || !IsLowerAlnum(b.back())) {
    return BadBucket(b, "must begin and end with a letter or digit");
  }
  if (b.find("..") != std::string_view::npos) return BadBucket(b, "must not contain '..'");
  if (LooksLikeIpv4(b)) return BadBucket(b, "must not be formatted as an IP address");
  for (std::string_view p : {"xn--", "sthree-", "amzn-s3-demo-"}) {
    if (b.substr(0, p.size()) == p) return BadBucket(b, "must not start with '" + std::string(p) + "'");
  }
  for (std::string_view s : {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}) {
    if (b.size() >= s.size() && b.substr(b.size() - s.size()) == s) {
      return BadBucket(b, "must not end with '" + std::string(s) + "'");
    }
  }
  return Status::OK();
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return BadKey(key, "a key must be 1 to 1024 bytes long");
  if (key.size() > 1024) return BadKey(key, "a key must be at most 1024 bytes of UTF-8");
  for (size_t i = 0; i < key.size();) {
    if (key[i] == '\0') return BadKey(key, "NUL byte at offset " + std::to_string(i));
    size_t n = Utf8SequenceLength(key, i);
    if (n == 0) return BadKey(key, "invalid UTF-8 at byte offset " + std::to_string(i));
    i += n;
  }
  if (key.front() == '/') return BadKey(key, "absolute paths are not allowed (leading '/')");
  // A trailing '/' marks a folder object; check the segments before it.
  std::string_view path = key.back() == '/' ? key.substr(0, key.size() - 1) : key;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty()) return BadKey(key, "empty path segment ('//') cannot be stored as a file path");
    if (seg == "." || seg == "..") return BadKey(key, "'.' and '..' segments are not allowed");
    if (seg.size() > 255) return BadKey(key, "a path segment is longer than 255 bytes");
    start = end + 1;
  }
  return Status::OK();
}

Status ByteRange::Resolve(uint64_t size, uint64_t* begin, uint64_t* end) const {
  *begin = 0;
  *end = size;
  if (suffix_length) {
    if (*suffix_length == 0 || size == 0) {
      return Status::InvalidArgument("range is not satisfiable: the object has " + std::to_string(size) +
                                     " bytes (InvalidRange)");
    }
    *begin = size - std::min<uint64_t>(*suffix_length, size);
    return Status::OK();
  }
  if (*first >= size) {
    return Status::InvalidArgument("range starts at byte " + std::to_string(*first) + " but the object has " +
                                   std::to_string(size) + " bytes (InvalidRange)");
  }
  *begin = *first;
  if (last) *end = std::min<uint64_t>(*last + 1, size);
  return Status::OK();
}

Result<ByteRange> ByteRange::Parse(std::string_view h) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid range '" + std::string(h) + "': " + std::string(why));
  };
  constexpr std::string_view kUnit = "bytes=";
  if (h.substr(0, kUnit.size()) != kUnit) return bad("expected 'bytes=FIRST-LAST'");
  std::string_view spec = h.substr(kUnit.size());
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) {
    return bad("expected one range 'bytes=FIRST-LAST', 'bytes=FIRST-' or 'bytes=-SUFFIX'");
  }
  auto parse_num = [](std::string_view s, uint64_t* out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  ByteRange r;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t v;
  if (a.empty()) {
    if (!parse_num(b, &v)) return bad("expected a number after '-'");
    r.suffix_length = v;
    return r;
  }
  if (!parse_num(a, &v)) return bad("expected a number before '-'");
  r.first = v;
  if (!b.empty()) {
    if (!parse_num(b, &v)) return bad("expected a number after '-'");
    if (v < *r.first) return bad("last byte is before first byte");
    r.last = v;
  }
  return r;
}

}  // namespace bucketd::store
