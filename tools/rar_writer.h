// Writes a RAR archive holding one file with the "store" method (no
// compression), in RAR 4.x (RAR 2.9 block format) or RAR 5.0 layout, from
// RARLAB's published format descriptions (technote.txt for 4.x, "RAR 5.0
// archive format" for 5.0). bucketd never compresses RAR: the bureau's files
// are RAR, no RAR writer is packaged for Debian, and a stored entry is
// exactly what a reader must handle first. Streams: the file is read once
// for its CRC32 (both formats put it in the header before the data) and once
// to copy it.
#ifndef BUCKETD_TOOLS_RAR_WRITER_H_
#define BUCKETD_TOOLS_RAR_WRITER_H_

#include <cstdint>
#include <string>

#include "common/status.h"

namespace bucketd::tools {

enum class RarVersion { kRar4, kRar5 };

// Writes `dst_path` (created, truncated) with one entry `entry_name` holding
// the bytes of `src_path`, its modification time `mtime` (Unix seconds, UTC).
Status WriteStoredRar(RarVersion version, const std::string& src_path,
                      const std::string& entry_name, int64_t mtime, const std::string& dst_path);

}  // namespace bucketd::tools

#endif  // BUCKETD_TOOLS_RAR_WRITER_H_
