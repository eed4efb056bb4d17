// The data CRC32 that a RAR 5.0 archive's file headers promise, read from the
// headers themselves (RARLAB's "RAR 5.0 archive format"): libarchive checks
// it for compressed entries but not for stored ones, so a byte flipped in a
// stored entry extracted "successfully" as corrupted text.
#ifndef BUCKETD_STAGES_RAR5_CRC_H_
#define BUCKETD_STAGES_RAR5_CRC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace bucketd::stages {

struct Rar5FileHeader {
  std::string name;
  std::optional<uint32_t> data_crc32;  // absent when the header carries none
  bool split = false;                  // data continues in another volume: no whole-file CRC here
};

// The file headers of the RAR 5.0 archive open at `fd`, in archive order
// (service headers left out, as libarchive leaves them out of its entries).
// Empty for an archive that is not RAR 5.0 or whose headers are encrypted.
// Corruption naming `where` and the offset when a header is cut short.
Result<std::vector<Rar5FileHeader>> ReadRar5FileHeaders(int fd, const std::string& where);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_RAR5_CRC_H_
