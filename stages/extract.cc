#include "stages/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "stages/delivery.h"
#include "stages/rar5_crc.h"
#include "stages/stage_input.h"
#include "store/md5_source.h"
#include "store/read_ahead.h"

namespace bucketd::stages {
namespace {

constexpr char kRawPrefix[] = "DATA/RAW_DATA/";
constexpr char kMetaSourceEtag[] = "source-etag";

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<archive, ArchiveReadDeleter>;

struct ExtractOptions {
  uint64_t max_bytes = 16ULL << 30;
  double max_ratio = 200;
  std::vector<std::string> tables;
};

struct Target {
  ObjectRef archive;
  std::string delivery, stamp, table;
  std::string unzip_key, append_all_key, marker_key;
};

Result<ExtractOptions> ReadOptions(const nlohmann::json& in) {
  ExtractOptions o;
  ASSIGN_OR_RETURN(int64_t max_bytes, IntOption(in, "max_bytes", static_cast<int64_t>(o.max_bytes)));
  ASSIGN_OR_RETURN(o.max_ratio, NumberOption(in, "max_ratio", o.max_ratio));
  if (max_bytes <= 0 || o.max_ratio <= 0) {
    return Status::InvalidArgument("input fields \"max_bytes\" and \"max_ratio\": expected positive numbers");
  }
  o.max_bytes = static_cast<uint64_t>(max_bytes);
  if (in.contains("tables")) {
    if (!in["tables"].is_array() || in["tables"].empty()) {
      return Status::InvalidArgument("input field \"tables\": expected a non-empty list of table names");
    }
    for (const auto& t : in["tables"]) {
      if (!t.is_string()) return Status::InvalidArgument("input field \"tables\": expected strings");
      o.tables.push_back(t.get<std::string>());
    }
  } else {
    for (const auto& t : DeliveryTables()) o.tables.push_back(t.name);
  }
  return o;
}

Result<Target> ParseTarget(const ObjectRef& archive, const ExtractOptions& o) {
  const std::string& key = archive.key;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("s3://" + archive.bucket + "/" + key + ": " + why +
                                   "; expected DATA/RAW_DATA/UKLTD_M_YYYYMM01/<TABLE>_M_YYYYMM01.<archive>");
  };
  if (key.rfind(kRawPrefix, 0) != 0) return bad("not under DATA/RAW_DATA/");
  std::string rest = key.substr(sizeof kRawPrefix - 1);
  size_t slash = rest.find('/');
  if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos) {
    return bad("not one folder deep");
  }
  Target t;
  t.archive = archive;
  t.delivery = rest.substr(0, slash);
  auto stamp = ParseDeliveryName(t.delivery);
  if (!stamp) return bad("folder \"" + t.delivery + "\" is not UKLTD_M_YYYYMM01");
  auto file = ParseDeliveryFileName(rest.substr(slash + 1));
  if (!file) return bad("file name is not <TABLE>_M_YYYYMM01.<archive>");
  if (file->stamp != *stamp) return bad("file is dated " + file->stamp + ", its folder " + *stamp);
  bool known = false;
  for (const auto& name : o.tables) known = known || name == file->table;
  if (!known) return bad("table " + file->table + " is not one of the delivery's tables");
  t.stamp = *stamp;
  t.table = file->table;
  std::string txt = TableFileName(t.table, t.stamp);
  t.unzip_key = "DATA/UNZIP_DATA/" + t.delivery + "/" + t.table + "/" + txt;
  t.append_all_key = "DATA/UNZIP_DATA_APPEND_ALL/" + t.table + "/" + txt;
  t.marker_key = "LOGS_FTP_EXECUTION/LOG_" + t.delivery + ".json";
  return t;
}

// Why an entry may not be unpacked, or "" when it is a plain file with a
// path that stays inside the folder.
std::string RefusalReason(archive_entry* e, const std::string& path) {
  if (path.empty()) return "it has no name";
  if (path[0] == '/' || path[0] == '\\' || (path.size() > 1 && path[1] == ':')) return "its path is absolute";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find_first_of("/\\", start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0) return "its path leaves the folder (\"..\")";
    start = end + 1;
  }
  if (archive_entry_hardlink(e) != nullptr) return "it is a hard link";
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      return "";
    case AE_IFLNK:
      return "it is a symbolic link";
    case AE_IFCHR:
    case AE_IFBLK:
      return "it is a device";
    case AE_IFDIR:
      return "it is a directory";
    default:
      return "it is not a regular file";
  }
}

Result<bool> CheckEntry(archive_entry* e, int index, const std::string& where, const std::string& expected,
                        bool seen);

// The bytes of the current entry, checked as they pass: the limits, the
// header row, cancellation; rows are counted. Its end is reported only once
// every later entry's header has been checked too, so the store publishes
// nothing from an archive that is refused for a later entry — in the same
// pass, which for a compressed archive is the one decompression.
class EntrySource : public store::ByteSource {
 public:
  EntrySource(archive* a, std::string where, const TableSpec* spec, uint64_t limit, std::string limit_why,
              const std::atomic<bool>* cancelled)
      : a_(a), where_(std::move(where)), limit_(limit), limit_why_(std::move(limit_why)), cancelled_(cancelled) {
    if (spec) {
      for (const auto& c : spec->columns) header_ += (header_.empty() ? "" : "|") + c;
    }
  }
  Result<size_t> Read(char* buf, size_t n) override {
    if (cancelled_ && cancelled_->load()) return Status::Cancelled(where_ + ": cancelled (deadline or shutdown)");
    la_ssize_t got = archive_read_data(a_, buf, n);
    if (got < 0) {
      return Status::Corruption(where_ + ": " + (archive_error_string(a_) ? archive_error_string(a_) : "read error"));
    }
    if (got == 0) {
      RETURN_IF_ERROR(CheckEnd());
      return size_t{0};
    }
    if (expected_crc_) crc_ = crc32(crc_, reinterpret_cast<const Bytef*>(buf), static_cast<uInt>(got));
    bytes_ += static_cast<uint64_t>(got);
    if (bytes_ > limit_) return Status::InvalidArgument(where_ + ": refused as an archive bomb: " + limit_why_);
    RETURN_IF_ERROR(CountLines(std::string_view(buf, static_cast<size_t>(got))));
    return static_cast<size_t>(got);
  }
  void ExpectSize(int64_t size) { expected_size_ = size; }
  // Checked at the end: libarchive does not check a stored RAR 5 entry's.
  void ExpectCrc32(uint32_t crc) { expected_crc_ = crc; }
  // The archive's entries after this one (number `index`), checked at the
  // end: only directories may follow.
  void ExpectNoMore(int index, std::string archive_where, std::string expected) {
    index_ = index;
    archive_where_ = std::move(archive_where);
    expected_name_ = std::move(expected);
  }
  // "rows" and "duration-ms" (since `started`), set when the end has passed
  // every check: the put's late metadata.
  void TimeFrom(std::chrono::steady_clock::time_point started) { started_ = started; }
  const std::map<std::string, std::string>& late_metadata() const { return late_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t rows() const { return lines_ > 0 ? lines_ - 1 : 0; }
  int64_t duration_ms() const { return duration_ms_; }

 private:
  Status CountLines(std::string_view chunk) {
    if (lines_ == 0) {
      size_t nl = chunk.find('\n');
      if (first_line_.size() <= header_.size()) {
        first_line_.append(chunk.substr(0, std::min(nl, header_.size() + 1 - first_line_.size())));
      }
      if (nl == std::string_view::npos) return Status::OK();
      if (!header_.empty() && first_line_ != header_) {
        return Status::InvalidArgument(where_ + ": line 1: expected the header \"" + header_ + "\", found \"" +
                                       first_line_.substr(0, 200) + "\"");
      }
      lines_ = 1;
      chunk.remove_prefix(nl + 1);
    }
    lines_ += static_cast<uint64_t>(std::count(chunk.begin(), chunk.end(), '\n'));
    return Status::OK();
  }
  Status CheckEnd() {
    // libarchive ends a truncated stored RAR entry without an error; the
    // size its header promised is what catches it.
    if (expected_size_ >= 0 && bytes_ != static_cast<uint64_t>(expected_size_)) {
      return Status::Corruption(where_ + ": ends after " + std::to_string(bytes_) + " of its " +
                                std::to_string(expected_size_) + " bytes (truncated archive)");
    }
    if (expected_crc_ && static_cast<uint32_t>(crc_) != *expected_crc_) {
      char msg[96];
      std::snprintf(msg, sizeof msg, ": its data has CRC32 %08x, its header says %08x (damaged archive)",
                    static_cast<unsigned>(crc_), static_cast<unsigned>(*expected_crc_));
      return Status::Corruption(where_ + msg);
    }
    if (!expected_name_.empty()) RETURN_IF_ERROR(CheckFollowing());
    expected_name_.clear();
    duration_ms_ =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count();
    late_["rows"] = std::to_string(rows());
    late_["duration-ms"] = std::to_string(duration_ms_);
    return Status::OK();
  }
  Status CheckFollowing() {
    for (int index = index_ + 1;; ++index) {
      archive_entry* e = nullptr;
      int rc = archive_read_next_header(a_, &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) return Status::Corruption(archive_where_ + ": " + archive_error_string(a_));
      ASSIGN_OR_RETURN(bool table, CheckEntry(e, index, archive_where_, expected_name_, true));
      (void)table;  // with seen=true, only a directory gets here
      if (archive_read_data_skip(a_) < ARCHIVE_WARN) {
        const char* raw = archive_entry_pathname(e);
        return Status::Corruption(archive_where_ + ": entry " + std::to_string(index) + " \"" + (raw ? raw : "") +
                                  "\": " + archive_error_string(a_));
      }
    }
    return Status::OK();
  }

  archive* a_;
  std::string where_;
  uint64_t limit_;
  std::string limit_why_;
  const std::atomic<bool>* cancelled_;
  std::string header_, first_line_;
  uint64_t bytes_ = 0, lines_ = 0;
  int64_t expected_size_ = -1;
  std::optional<uint32_t> expected_crc_;
  uLong crc_ = crc32(0, nullptr, 0);
  int index_ = 0;
  std::string archive_where_, expected_name_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::map<std::string, std::string> late_;
  int64_t duration_ms_ = 0;
};

struct Unpacked {
  uint64_t rows = 0, bytes = 0;
  int64_t ms = 0;
};

Result<ArchiveReader> OpenArchive(int fd, const std::string& where) {
  // From the start each time: the headers are checked in a pass of their own.
  if (::lseek(fd, 0, SEEK_SET) != 0) return Status::FromErrno(where + ": seek", errno);
  ArchiveReader a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  if (archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK) {
    return Status::Corruption(where + ": " + archive_error_string(a.get()));
  }
  return a;
}

// What each entry must be, checked on its header alone. Returns whether the
// entry is the table's file (false: a directory to pass over).
Result<bool> CheckEntry(archive_entry* e, int index, const std::string& where, const std::string& expected,
                        bool seen) {
  const char* raw = archive_entry_pathname(e);
  std::string path = raw ? raw : "";
  std::string entry = "entry " + std::to_string(index) + " \"" + path + "\"";
  std::string refusal = RefusalReason(e, path);
  if (archive_entry_filetype(e) == AE_IFDIR && refusal == "it is a directory") return false;
  if (!refusal.empty()) return Status::PermissionDenied(where + ": " + entry + " refused: " + refusal);
  std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  if (base != expected) {
    return Status::InvalidArgument(where + ": " + entry + " is not the table's file; expected " + expected);
  }
  if (seen) return Status::InvalidArgument(where + ": " + entry + ": " + expected + " appears twice");
  return true;
}

Result<Unpacked> Unpack(runner::StageContext& ctx, const Target& t, const ExtractOptions& o,
                        store::ObjectReader& reader, std::chrono::steady_clock::time_point started) {
  const std::string where = "s3://" + t.archive.bucket + "/" + t.archive.key;
  const std::string expected = TableFileName(t.table, t.stamp);
  ASSIGN_OR_RETURN(std::vector<Rar5FileHeader> rar5, ReadRar5FileHeaders(reader.fd.get(), where));
  ASSIGN_OR_RETURN(ArchiveReader a, OpenArchive(reader.fd.get(), where));
  // The ratio is taken against the archive's size, with 1 MiB of slack so a
  // tiny archive of a small table is not a "bomb".
  uint64_t by_ratio = static_cast<uint64_t>(o.max_ratio * static_cast<double>(std::max<uint64_t>(reader.info.size, 1 << 20)));
  uint64_t limit = std::min(o.max_bytes, by_ratio);
  std::string limit_why = o.max_bytes <= by_ratio
                              ? "it expands past max_bytes " + std::to_string(o.max_bytes)
                              : "it expands past " + std::to_string(by_ratio) + " bytes, max_ratio " +
                                    std::to_string(static_cast<int64_t>(o.max_ratio)) + " times the archive's " +
                                    std::to_string(reader.info.size) + " bytes";
  for (int index = 1;; ++index) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return Status::Corruption(where + ": " + archive_error_string(a.get()));
    ASSIGN_OR_RETURN(bool table, CheckEntry(e, index, where, expected, false));
    if (!table) continue;
    const char* raw = archive_entry_pathname(e);
    std::string entry = "entry " + std::to_string(index) + " \"" + (raw ? raw : "") + "\"";
    EntrySource src(a.get(), where + ": " + entry, FindTable(t.table), limit, limit_why, ctx.cancelled);
    if (archive_entry_size_is_set(e)) src.ExpectSize(archive_entry_size(e));
    // libarchive yields one entry per RAR 5 file header, in order.
    size_t at = static_cast<size_t>(index - 1);
    if (at < rar5.size() && rar5[at].name == (raw ? raw : "") && rar5[at].data_crc32 && !rar5[at].split) {
      src.ExpectCrc32(*rar5[at].data_crc32);
    }
    src.ExpectNoMore(index, where, expected);
    src.TimeFrom(started);
    // Both keys get one record, so the second can be a second name of the
    // first's file: what is known only at the end is added then.
    store::PutOptions put = ctx.PutOptions();
    put.content_type = "text/plain; charset=utf-8";
    put.user_metadata[kMetaSourceEtag] = reader.info.etag;
    put.user_metadata["source-key"] = t.archive.key;
    put.late_user_metadata = &src.late_metadata();
    // Three stages, each on a thread of its own, a few MiB apart:
    // decompression with the checks, the MD5, the writes.
    store::ReadAheadSource decoded(src);
    store::Md5Source hashed(decoded);
    store::ReadAheadSource ahead(hashed);
    put.late_etag = &hashed.etag();
    RETURN_IF_ERROR(ctx.store->PutObject(t.archive.bucket, t.unzip_key, ahead, put).status());
    return Unpacked{src.rows(), src.bytes(), src.duration_ms()};
  }
  return Status::InvalidArgument(where + ": the archive holds no " + expected);
}

// Writes the marker when every table's APPEND_ALL file is there.
Status MaybeAnnounce(runner::StageContext& ctx, const Target& t, const ExtractOptions& o) {
  nlohmann::json tables = nlohmann::json::array();
  std::vector<std::string> missing;
  uint64_t rows = 0, bytes = 0;
  for (const auto& name : o.tables) {
    std::string txt = TableFileName(name, t.stamp);
    auto info = ctx.store->HeadObject(t.archive.bucket, "DATA/UNZIP_DATA_APPEND_ALL/" + name + "/" + txt);
    if (!info.ok()) {
      if (!info.status().IsNotFound()) return info.status();
      missing.push_back(name);
      continue;
    }
    auto meta = [&](const char* k) {
      auto it = info->user_metadata.find(k);
      return it == info->user_metadata.end() ? std::string() : it->second;
    };
    uint64_t r = std::stoull("0" + meta("rows"));
    rows += r;
    bytes += info->size;
    tables.push_back({{"table", name},
                      {"archive", meta("source-key")},
                      {"archive_etag", meta(kMetaSourceEtag)},
                      {"unzip_key", "DATA/UNZIP_DATA/" + t.delivery + "/" + name + "/" + txt},
                      {"append_all_key", info->key},
                      {"rows", r},
                      {"bytes", info->size},
                      {"md5", info->etag.substr(1, info->etag.size() - 2)},
                      {"duration_ms", std::stoll("0" + meta("duration-ms"))}});
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    ctx.log(t.delivery + ": " + std::to_string(o.tables.size() - missing.size()) + " of " +
            std::to_string(o.tables.size()) + " tables extracted; no marker until " + list +
            (missing.size() == 1 ? " is" : " are"));
    return Status::OK();
  }
  nlohmann::json marker{{"delivery", t.delivery}, {"bucket", t.archive.bucket}, {"date", t.stamp},
                        {"tables", tables},       {"rows", rows},                {"bytes", bytes},
                        {"invocation_id", ctx.invocation_id}};
  ASSIGN_OR_RETURN(bool wrote, PutMarker(ctx, t.archive.bucket, t.marker_key, marker.dump(2) + "\n"));
  ctx.log(t.delivery + (wrote ? ": every table extracted; wrote " + t.marker_key
                              : ": " + t.marker_key + " was already written"));
  return Status::OK();
}

}  // namespace

Status ExtractStage(runner::StageContext& ctx) {
  auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(nlohmann::json in, ParseStageInput(ctx.input));
  ASSIGN_OR_RETURN(ObjectRef archive, ObjectFromInput(in));
  ASSIGN_OR_RETURN(ExtractOptions options, ReadOptions(in));
  ASSIGN_OR_RETURN(Target t, ParseTarget(archive, options));
  ASSIGN_OR_RETURN(store::ObjectReader reader, ctx.store->OpenObjectForRead(archive.bucket, archive.key));

  auto done = ctx.store->HeadObject(archive.bucket, t.append_all_key);
  if (done.ok() && done->user_metadata.count(kMetaSourceEtag) &&
      done->user_metadata.at(kMetaSourceEtag) == reader.info.etag) {
    ctx.log(t.table + " of " + t.delivery + " was already extracted from this archive");
    return MaybeAnnounce(ctx, t, options);
  }
  auto unpacked = Unpack(ctx, t, options, reader, started);
  if (!unpacked.ok()) {
    // What an archive holds is the same at every attempt: a refusal for it
    // (a bomb, zip-slip, a CRC that does not match, the wrong file) is
    // final, and retrying would only repeat it. I/O errors and
    // cancellation are not.
    StatusCode c = unpacked.status().code();
    ctx.permanent_failure = c == StatusCode::kInvalidArgument || c == StatusCode::kPermissionDenied ||
                            c == StatusCode::kCorruption;
    return unpacked.status();
  }
  store::CopyOptions copy;
  copy.put = ctx.PutOptions();
  copy.share_bytes = true;
  RETURN_IF_ERROR(ctx.store->CopyObject(archive.bucket, t.unzip_key, archive.bucket, t.append_all_key, copy).status());
  ctx.log(t.table + " of " + t.delivery + ": " + std::to_string(unpacked->rows) + " rows, " +
          std::to_string(unpacked->bytes) + " bytes in " + std::to_string(unpacked->ms) + " ms");
  return MaybeAnnounce(ctx, t, options);
}

}  // namespace bucketd::stages
