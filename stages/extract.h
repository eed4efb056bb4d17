// The extract stage: unpacks one delivery archive that landed under
// DATA/RAW_DATA/UKLTD_M_YYYYMM01/ and, once every table of the delivery is
// unpacked, announces the delivery with its marker.
//
// Input: the "Object Created" event of the archive (or {"bucket", "key"}),
// optionally with
//   "max_bytes":  most bytes one entry may expand to (default 16 GiB)
//   "max_ratio":  most expanded bytes per archive byte (default 200; archive bombs)
//   "tables":     the tables a complete delivery holds (default DATA.md's eleven)
//
// Outputs, through the store (each appears whole or not at all):
//   DATA/UNZIP_DATA/UKLTD_M_YYYYMM01/<T>/<T>_M_YYYYMM01.txt
//   DATA/UNZIP_DATA_APPEND_ALL/<T>/<T>_M_YYYYMM01.txt   written second; its metadata
//       (x-amz-meta-rows, -source-etag, …) records the extraction as done
//   LOGS_FTP_EXECUTION/LOG_UKLTD_M_YYYYMM01.json       the marker, create-only, once
//       every table's APPEND_ALL file is there
//
// Refused, failing the invocation with a message naming the archive and the
// entry: absolute paths, ".." segments, links, devices and other non-files, an
// entry other than <T>_M_YYYYMM01.txt, a header row other than the table's, an
// entry growing past the limits, and whatever libarchive reports as corrupt.
// Nothing half-written is visible: a failed put leaves no object behind.
//
// Idempotent: an archive whose APPEND_ALL file records its ETag is not
// unpacked again; a marker that exists is left as it is.
#ifndef BUCKETD_STAGES_EXTRACT_H_
#define BUCKETD_STAGES_EXTRACT_H_

#include "common/status.h"
#include "runner/builtin.h"

namespace bucketd::stages {

Status ExtractStage(runner::StageContext& ctx);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_EXTRACT_H_
