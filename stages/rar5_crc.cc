#include "stages/rar5_crc.h"

#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace bucketd::stages {

namespace {

constexpr std::string_view kSignature("Rar!\x1a\x07\x01\x00", 8);
constexpr uint64_t kMaxHeaderSize = 2 << 20;  // the format's own limit
constexpr int kMaxHeaders = 1 << 20;          // a bound on a hostile archive's loop

enum HeaderType : uint64_t { kMain = 1, kFile = 2, kService = 3, kEncryption = 4, kEnd = 5 };
enum HeaderFlags : uint64_t { kExtraArea = 0x1, kDataArea = 0x2, kSplitBefore = 0x8, kSplitAfter = 0x10 };
enum FileFlags : uint64_t { kMtime = 0x2, kCrc32 = 0x4 };

// Reads the format's fields from one header's bytes; false once past its end.
class Fields {
 public:
  explicit Fields(std::string_view bytes) : p_(bytes) {}
  bool Vint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64 && !p_.empty(); shift += 7) {
      auto byte = static_cast<unsigned char>(p_.front());
      p_.remove_prefix(1);
      *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool U32(uint32_t* v) {
    if (p_.size() < 4) return false;
    *v = 0;
    for (int i = 3; i >= 0; --i) *v = (*v << 8) | static_cast<unsigned char>(p_[static_cast<size_t>(i)]);
    p_.remove_prefix(4);
    return true;
  }
  bool Bytes(uint64_t n, std::string* out) {
    if (p_.size() < n) return false;
    out->assign(p_.substr(0, n));
    p_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view p_;
};

Result<std::string> ReadAt(int fd, uint64_t offset, size_t n, const std::string& where) {
  std::string buf(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::FromErrno(where + ": read", errno);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  buf.resize(got);
  return buf;
}

}  // namespace

Result<std::vector<Rar5FileHeader>> ReadRar5FileHeaders(int fd, const std::string& where) {
  std::vector<Rar5FileHeader> files;
  ASSIGN_OR_RETURN(std::string sig, ReadAt(fd, 0, kSignature.size(), where));
  if (sig != kSignature) return files;
  uint64_t offset = kSignature.size();
  auto cut = [&](const char* what) {
    return Status::Corruption(where + ": RAR 5 header at byte " + std::to_string(offset) + ": " + what);
  };
  for (int n = 0; n < kMaxHeaders; ++n) {
    // CRC32 of the header (4 bytes), then its size as a vint (at most 3
    // bytes for the 2 MiB limit), then the header.
    ASSIGN_OR_RETURN(std::string head, ReadAt(fd, offset, 4 + 10, where));
    if (head.empty()) return files;  // no end-of-archive header: libarchive judges that
    Fields size_field(std::string_view(head).substr(std::min<size_t>(4, head.size())));
    uint64_t size = 0;
    if (head.size() < 5 || !size_field.Vint(&size)) return cut("cut short before its size");
    if (size == 0 || size > kMaxHeaderSize) return cut("has an impossible size");
    size_t size_len = 1;
    while (size_len < 10 && (static_cast<unsigned char>(head[4 + size_len - 1]) & 0x80) != 0) ++size_len;
    uint64_t body_at = offset + 4 + size_len;
    ASSIGN_OR_RETURN(std::string body, ReadAt(fd, body_at, static_cast<size_t>(size), where));
    if (body.size() != size) return cut("is cut short");
    Fields f(body);
    uint64_t type = 0, flags = 0, extra_size = 0, data_size = 0;
    if (!f.Vint(&type) || !f.Vint(&flags)) return cut("is cut short");
    if ((flags & kExtraArea) && !f.Vint(&extra_size)) return cut("is cut short");
    if ((flags & kDataArea) && !f.Vint(&data_size)) return cut("is cut short");
    if (type == kEncryption) return std::vector<Rar5FileHeader>{};  // headers unreadable without the password
    if (type == kEnd) return files;
    if (type == kFile) {
      uint64_t file_flags = 0, unpacked = 0, attributes = 0, compression = 0, host = 0, name_len = 0;
      uint32_t mtime = 0, crc = 0;
      Rar5FileHeader h;
      if (!f.Vint(&file_flags) || !f.Vint(&unpacked) || !f.Vint(&attributes)) return cut("is cut short");
      if ((file_flags & kMtime) && !f.U32(&mtime)) return cut("is cut short");
      if (file_flags & kCrc32) {
        if (!f.U32(&crc)) return cut("is cut short");
        h.data_crc32 = crc;
      }
      if (!f.Vint(&compression) || !f.Vint(&host) || !f.Vint(&name_len) || !f.Bytes(name_len, &h.name)) {
        return cut("is cut short");
      }
      h.split = (flags & (kSplitBefore | kSplitAfter)) != 0;
      files.push_back(std::move(h));
    }
    offset = body_at + size + data_size;
  }
  return cut("is one of too many headers");
}

}  // namespace bucketd::stages
