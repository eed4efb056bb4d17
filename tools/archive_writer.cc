#include "tools/archive_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "common/file_util.h"
#include "tools/rar_writer.h"

namespace bucketd::tools {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Status LibarchiveError(archive* a, const std::string& path) {
  return Status::IOError(path + ": " + (archive_error_string(a) ? archive_error_string(a) : "libarchive error"));
}

Status WriteWithLibarchive(ArchiveFormat format, const std::string& src_path,
                           const std::string& entry_name, int64_t mtime,
                           const std::string& dst_path) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  int rc = ARCHIVE_OK;
  switch (format) {
    case ArchiveFormat::kZip:
      rc = archive_write_set_format_zip(a.get());
      break;
    case ArchiveFormat::k7z:
      rc = archive_write_set_format_7zip(a.get());
      break;
    default:
      rc = archive_write_set_format_pax_restricted(a.get());
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_gzip(a.get());
      // gzip's header carries a time; without this it would be "now".
      if (rc == ARCHIVE_OK) rc = archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
      break;
  }
  if (rc != ARCHIVE_OK) return LibarchiveError(a.get(), dst_path);
  if (archive_write_open_filename(a.get(), dst_path.c_str()) != ARCHIVE_OK) {
    return LibarchiveError(a.get(), dst_path);
  }
  UniqueFile src(std::fopen(src_path.c_str(), "rb"));
  struct stat st;
  if (!src || fstat(fileno(src.get()), &st) != 0) return Status::IOError("cannot read " + src_path);
  std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
  archive_entry_set_pathname(e.get(), entry_name.c_str());
  archive_entry_set_size(e.get(), st.st_size);
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0644);
  archive_entry_set_mtime(e.get(), mtime, 0);
  if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) return LibarchiveError(a.get(), dst_path);
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), src.get())) > 0) {
    if (archive_write_data(a.get(), buf.data(), n) < 0) return LibarchiveError(a.get(), dst_path);
  }
  if (std::ferror(src.get())) return Status::IOError("cannot read " + src_path);
  if (archive_write_close(a.get()) != ARCHIVE_OK) return LibarchiveError(a.get(), dst_path);
  return Status::OK();
}

}  // namespace

Result<ArchiveFormat> ParseArchiveFormat(const std::string& name) {
  if (name == "rar" || name == "rar5") return ArchiveFormat::kRar5;
  if (name == "rar4") return ArchiveFormat::kRar4;
  if (name == "zip") return ArchiveFormat::kZip;
  if (name == "7z") return ArchiveFormat::k7z;
  if (name == "tar.gz") return ArchiveFormat::kTarGz;
  return Status::InvalidArgument("unknown archive format \"" + name +
                                 "\": expected rar, rar5, rar4, zip, 7z or tar.gz");
}

std::string ArchiveExtension(ArchiveFormat format) {
  switch (format) {
    case ArchiveFormat::kRar5:
    case ArchiveFormat::kRar4:
      return "rar";
    case ArchiveFormat::kZip:
      return "zip";
    case ArchiveFormat::k7z:
      return "7z";
    case ArchiveFormat::kTarGz:
      return "tar.gz";
  }
  return "";
}

Status WriteSingleFileArchive(ArchiveFormat format, const std::string& src_path,
                              const std::string& entry_name, int64_t mtime,
                              const std::string& dst_path) {
  if (format == ArchiveFormat::kRar5 || format == ArchiveFormat::kRar4) {
    return WriteStoredRar(format == ArchiveFormat::kRar4 ? RarVersion::kRar4 : RarVersion::kRar5,
                          src_path, entry_name, mtime, dst_path);
  }
  return WriteWithLibarchive(format, src_path, entry_name, mtime, dst_path);
}

}  // namespace bucketd::tools
