// Self-checking object versions: a reader can tell a complete version from a
// torn mix of two, whatever their sizes.
#ifndef BUCKETD_TESTS_INTEGRATION_VERSION_PAYLOAD_H_
#define BUCKETD_TESTS_INTEGRATION_VERSION_PAYLOAD_H_

#include <cstdio>
#include <string>

namespace bucketd::testing {

// "writer=W seq=S len=L\n" then L filler bytes that depend on W and S, then
// "\nend W S\n". L varies from 1 KiB to about 64 KiB.
inline std::string VersionPayload(int writer, int seq) {
  size_t len = 1024 + static_cast<size_t>((writer * 7919 + seq * 104729) % 65536);
  char head[64];
  std::snprintf(head, sizeof(head), "writer=%d seq=%d len=%zu\n", writer, seq, len);
  std::string out = head;
  for (size_t i = 0; i < len; ++i) out.push_back(static_cast<char>('a' + (writer + seq + i) % 26));
  out += "\nend " + std::to_string(writer) + " " + std::to_string(seq) + "\n";
  return out;
}

// True when `data` is exactly one VersionPayload.
inline bool IsCompleteVersion(const std::string& data) {
  int writer, seq;
  size_t len;
  if (std::sscanf(data.c_str(), "writer=%d seq=%d len=%zu\n", &writer, &seq, &len) != 3) return false;
  return data == VersionPayload(writer, seq);
}

}  // namespace bucketd::testing

#endif  // BUCKETD_TESTS_INTEGRATION_VERSION_PAYLOAD_H_
