#include "tools/rar_writer.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "common/file_util.h"

namespace bucketd::tools {
namespace {

using Bytes = std::vector<unsigned char>;


void PutLe(Bytes& b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}

// RAR 5.0 variable-length integer: 7 bits per byte, low bits first, the high
// bit set on every byte but the last.
void PutVint(Bytes& b, uint64_t v) {
  do {
    unsigned char byte = v & 0x7f;
    v >>= 7;
    if (v != 0) byte |= 0x80;
    b.push_back(byte);
  } while (v != 0);
}

uint32_t Crc(const unsigned char* p, size_t n, uint32_t crc = 0) {
  return static_cast<uint32_t>(crc32(crc, p, static_cast<uInt>(n)));
}

// 4.x blocks: HEAD_CRC (low 16 bits of the CRC32 of everything after it),
// then HEAD_TYPE, HEAD_FLAGS, HEAD_SIZE (the whole block header), fields.
Bytes Rar4Block(unsigned char type, uint16_t flags, const Bytes& fields) {
  Bytes body;
  body.push_back(type);
  PutLe(body, flags, 2);
  PutLe(body, 2 + 1 + 2 + 2 + fields.size(), 2);
  body.insert(body.end(), fields.begin(), fields.end());
  Bytes block;
  PutLe(block, Crc(body.data(), body.size()) & 0xffff, 2);
  block.insert(block.end(), body.begin(), body.end());
  return block;
}

// 5.0 headers: CRC32 of (header size vint + header), header size, header.
Bytes Rar5Header(const Bytes& header) {
  Bytes sized;
  PutVint(sized, header.size());
  sized.insert(sized.end(), header.begin(), header.end());
  Bytes out;
  PutLe(out, Crc(sized.data(), sized.size()), 4);
  out.insert(out.end(), sized.begin(), sized.end());
  return out;
}

uint32_t DosTime(int64_t mtime) {
  time_t t = static_cast<time_t>(mtime);
  struct tm tm;
  gmtime_r(&t, &tm);
  if (tm.tm_year < 80) return (1 << 5 | 1) << 16;  // DOS time starts in 1980
  uint32_t date = static_cast<uint32_t>((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
  uint32_t clock = static_cast<uint32_t>(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
  return date << 16 | clock;
}

constexpr uint32_t kUnixRegularFile0644 = 0100644;

Bytes Rar4Headers(const std::string& name, uint64_t size, uint32_t crc, int64_t mtime) {
  static const unsigned char kMarker[] = {0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x00};
  Bytes out(kMarker, kMarker + sizeof kMarker);
  Bytes main_fields;
  PutLe(main_fields, 0, 2);  // RESERVED1
  PutLe(main_fields, 0, 4);  // RESERVED2
  Bytes main = Rar4Block(0x73, 0, main_fields);
  out.insert(out.end(), main.begin(), main.end());

  const bool large = size > 0xffffffffULL;
  Bytes f;
  PutLe(f, size & 0xffffffff, 4);  // PACK_SIZE (stored: packed = unpacked)
  PutLe(f, size & 0xffffffff, 4);  // UNP_SIZE
  f.push_back(3);                  // HOST_OS: Unix
  PutLe(f, crc, 4);                // FILE_CRC
  PutLe(f, DosTime(mtime), 4);     // FTIME
  f.push_back(29);                 // UNP_VER: 2.9
  f.push_back(0x30);               // METHOD: store
  PutLe(f, name.size(), 2);        // NAME_SIZE
  PutLe(f, kUnixRegularFile0644, 4);
  if (large) {
    PutLe(f, size >> 32, 4);  // HIGH_PACK_SIZE
    PutLe(f, size >> 32, 4);  // HIGH_UNP_SIZE
  }
  f.insert(f.end(), name.begin(), name.end());
  // 0x8000: ADD_SIZE follows (the data); 0x0100: 64-bit sizes.
  Bytes file = Rar4Block(0x74, static_cast<uint16_t>(0x8000 | (large ? 0x0100 : 0)), f);
  out.insert(out.end(), file.begin(), file.end());
  return out;
}

Bytes Rar4End() { return Rar4Block(0x7b, 0x4000, {}); }

Bytes Rar5Headers(const std::string& name, uint64_t size, uint32_t crc, int64_t mtime) {
  static const unsigned char kSignature[] = {0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00};
  Bytes out(kSignature, kSignature + sizeof kSignature);
  Bytes main;
  PutVint(main, 1);  // type: main archive header
  PutVint(main, 0);  // header flags
  PutVint(main, 0);  // archive flags
  Bytes h = Rar5Header(main);
  out.insert(out.end(), h.begin(), h.end());

  Bytes file;
  PutVint(file, 2);       // type: file header
  PutVint(file, 0x0002);  // header flags: a data area follows
  PutVint(file, size);    // data size
  PutVint(file, 0x0002 | 0x0004);  // file flags: mtime and CRC32 present
  PutVint(file, size);    // unpacked size
  PutVint(file, kUnixRegularFile0644);
  PutLe(file, static_cast<uint64_t>(mtime) & 0xffffffff, 4);
  PutLe(file, crc, 4);
  PutVint(file, 0);  // compression: version 0, not solid, method 0 (store), smallest dictionary
  PutVint(file, 1);  // host OS: Unix
  PutVint(file, name.size());
  file.insert(file.end(), name.begin(), name.end());
  h = Rar5Header(file);
  out.insert(out.end(), h.begin(), h.end());
  return out;
}

Bytes Rar5End() {
  Bytes end;
  PutVint(end, 5);  // type: end of archive
  PutVint(end, 0);  // header flags
  PutVint(end, 0);  // end of archive flags: not a volume
  return Rar5Header(end);
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Status WriteStoredRar(RarVersion version, const std::string& src_path,
                      const std::string& entry_name, int64_t mtime, const std::string& dst_path) {
  UniqueFile src(std::fopen(src_path.c_str(), "rb"));
  if (!src) return Errno("cannot read", src_path);
  std::vector<unsigned char> buf(1 << 20);
  uint32_t crc = 0;
  uint64_t size = 0;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), src.get())) > 0) {
    crc = Crc(buf.data(), n, crc);
    size += n;
  }
  if (std::ferror(src.get())) return Errno("cannot read", src_path);
  std::rewind(src.get());

  UniqueFile dst(std::fopen(dst_path.c_str(), "wb"));
  if (!dst) return Errno("cannot create", dst_path);
  Bytes head = version == RarVersion::kRar4 ? Rar4Headers(entry_name, size, crc, mtime)
                                            : Rar5Headers(entry_name, size, crc, mtime);
  Bytes tail = version == RarVersion::kRar4 ? Rar4End() : Rar5End();
  bool ok = std::fwrite(head.data(), 1, head.size(), dst.get()) == head.size();
  uint64_t copied = 0;
  while (ok && (n = std::fread(buf.data(), 1, buf.size(), src.get())) > 0) {
    ok = std::fwrite(buf.data(), 1, n, dst.get()) == n;
    copied += n;
  }
  if (ok && copied != size) {
    return Status::IOError(src_path + " changed while it was being archived");
  }
  ok = ok && std::fwrite(tail.data(), 1, tail.size(), dst.get()) == tail.size();
  if (!ok || std::fflush(dst.get()) != 0) return Errno("cannot write", dst_path);
  return Status::OK();
}

}  // namespace bucketd::tools
