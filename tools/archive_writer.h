// One-file archives in the formats the bureau's deliveries come in.
#ifndef BUCKETD_TOOLS_ARCHIVE_WRITER_H_
#define BUCKETD_TOOLS_ARCHIVE_WRITER_H_

#include <cstdint>
#include <string>

#include "common/status.h"

namespace bucketd::tools {

enum class ArchiveFormat { kRar5, kRar4, kZip, k7z, kTarGz };

// "rar" (= RAR 5.0, what current WinRAR writes), "rar5", "rar4", "zip", "7z",
// "tar.gz"; anything else is InvalidArgument listing these.
Result<ArchiveFormat> ParseArchiveFormat(const std::string& name);
// The file name extension without the dot: "rar", "zip", "7z", "tar.gz".
std::string ArchiveExtension(ArchiveFormat format);

// Writes `dst_path` holding one entry `entry_name` with the bytes of
// `src_path` and modification time `mtime` (Unix seconds); owner, group and
// permissions are fixed so the same input always gives the same bytes.
Status WriteSingleFileArchive(ArchiveFormat format, const std::string& src_path,
                              const std::string& entry_name, int64_t mtime,
                              const std::string& dst_path);

}  // namespace bucketd::tools

#endif  // BUCKETD_TOOLS_ARCHIVE_WRITER_H_
