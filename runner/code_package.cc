#include "runner/code_package.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/file_util.h"
#include "common/md5.h"

namespace bucketd::runner {
namespace {

struct ArchiveCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

// "a/b/c.py" with no empty, "." or ".." segment, not absolute.
bool SafeRelativePath(std::string_view p) {
  if (p.empty() || p.front() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string_view seg = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (slash == std::string_view::npos && seg.empty()) break;  // "dir/" names a directory
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

Status MakeParents(const std::string& root, std::string_view rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string_view::npos) return Status::OK();
  std::error_code ec;
  std::filesystem::create_directories(root + "/" + std::string(rel.substr(0, slash)), ec);
  if (ec) return Status::IOError("making " + root + "/" + std::string(rel.substr(0, slash)) + ": " + ec.message());
  return Status::OK();
}

Status Unpack(std::string_view zip, const std::string& dir, const std::string& source) {
  std::unique_ptr<struct archive, ArchiveCloser> a(archive_read_new());
  archive_read_support_format_zip(a.get());
  if (archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK) {
    return Status::InvalidArgument(source + ": not a zip file (" + archive_error_string(a.get()) + ")");
  }
  uint64_t total = 0;
  int entries = 0;
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      return Status::InvalidArgument(source + ": corrupt zip after " + std::to_string(entries) + " entries (" +
                                     archive_error_string(a.get()) + ")");
    }
    const char* raw = archive_entry_pathname(e);
    std::string name = raw != nullptr ? raw : "";
    if (++entries > kMaxEntries) {
      return Status::InvalidArgument(source + ": more than " + std::to_string(kMaxEntries) + " entries");
    }
    if (!SafeRelativePath(name)) {
      return Status::InvalidArgument(source + ": entry '" + name.substr(0, 200) +
                                     "': expected a relative path without '..' segments");
    }
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFDIR) {
      std::error_code ec;
      std::filesystem::create_directories(dir + "/" + name, ec);
      if (ec) return Status::IOError("making " + dir + "/" + name + ": " + ec.message());
      continue;
    }
    if (type != AE_IFREG) {
      return Status::InvalidArgument(source + ": entry '" + name.substr(0, 200) +
                                     "' is a link or a special file; a package holds files and directories only");
    }
    RETURN_IF_ERROR(MakeParents(dir, name));
    mode_t mode = (archive_entry_perm(e) & 0100) ? 0755 : 0644;
    std::string path = dir + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd.valid()) return Status::FromErrno("writing " + path + " (entry '" + name + "' of " + source + ")", errno);
    char buf[64 << 10];
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf, sizeof(buf));
      if (n == 0) break;
      if (n < 0) {
        return Status::InvalidArgument(source + ": entry '" + name.substr(0, 200) + "' is corrupt (" +
                                       archive_error_string(a.get()) + ")");
      }
      total += static_cast<uint64_t>(n);
      if (total > kMaxUnpackedBytes) {
        return Status::InvalidArgument(source + ": unpacks to more than " + std::to_string(kMaxUnpackedBytes >> 20) +
                                       " MB (Lambda's limit for a package)");
      }
      if (::write(fd.get(), buf, static_cast<size_t>(n)) != n) {
        return Status::FromErrno("writing " + path, errno);
      }
    }
    (void)::fchmod(fd.get(), mode);  // whatever the umask took
  }
  return Status::OK();
}

Result<std::string> ReadAll(int fd, uint64_t max, const std::string& source) {
  std::string out;
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) return Status::FromErrno("reading " + source, errno);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max) {
      return Status::InvalidArgument(source + ": a package is at most " + std::to_string(kMaxPackageBytes >> 20) + " MB");
    }
  }
}

// Removes all but the `keep` newest version directories of a function.
void KeepNewest(const std::string& function_dir, size_t keep) {
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> versions;
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator(function_dir, ec)) {
    if (d.path().filename().string().find(".tmp") != std::string::npos) continue;
    versions.push_back({d.last_write_time(ec), d.path()});
  }
  std::sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = keep; i < versions.size(); ++i) std::filesystem::remove_all(versions[i].second, ec);
}

}  // namespace

Result<std::string> UnpackVersion(const std::string& parent, const std::string& version, std::string_view zip,
                                  const std::string& source, int flags) {
  if (zip.size() > kMaxPackageBytes) {
    return Status::InvalidArgument(source + ": a package is at most " + std::to_string(kMaxPackageBytes >> 20) + " MB");
  }
  std::string dir = parent + "/" + version;
  struct stat st;
  if (!(flags & kNewVersionOnly) && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    // Touched, so the versions kept are the newest in use.
    (void)::utimensat(AT_FDCWD, dir.c_str(), nullptr, 0);
    return dir;
  }
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return Status::IOError("making " + parent + ": " + ec.message());
  std::string tmp = dir + ".tmp" + std::to_string(::getpid());
  std::filesystem::remove_all(tmp, ec);
  if (::mkdir(tmp.c_str(), 0755) != 0) return Status::FromErrno("making " + tmp, errno);
  Status s = Unpack(zip, tmp, source);
  // A version, once there, is never replaced: a concurrent unpack of the
  // same one wins or loses whole.
  if (s.ok() && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EEXIST) {
      s = Status::FromErrno("renaming " + tmp + " to " + dir, errno);
    } else if (flags & kNewVersionOnly) {
      s = Status::AlreadyExists(dir + " exists");
    }
  }
  std::filesystem::remove_all(tmp, ec);
  if (!s.ok()) return s;
  return dir;
}

std::string AbsoluteStateDir(const std::string& state_dir) {
  // Absolute: an environment runs in its code directory, so a relative
  // LAMBDA_TASK_ROOT (a --root given relative) would name nothing there.
  std::error_code ec;
  std::string state = std::filesystem::absolute(state_dir, ec).lexically_normal().string();
  return ec ? state_dir : state;
}

Result<std::string> UnpackCode(const std::string& state_dir, const std::string& function, const std::string& digest,
                               std::string_view zip, const std::string& source) {
  std::string function_dir = AbsoluteStateDir(state_dir) + "/lambda/code/" + function;
  ASSIGN_OR_RETURN(std::string dir, UnpackVersion(function_dir, digest, zip, source, 0));
  KeepNewest(function_dir, 3);
  return dir;
}

Result<std::string> ReadPackage(int fd, const std::string& source) {
  return ReadAll(fd, kMaxPackageBytes + 1, source);
}

Status ResolveCode(store::Store& store, const std::string& state_dir, Function* fn) {
  if (fn->code_zip_file.empty() && fn->code_s3_bucket.empty()) return Status::OK();
  std::string where = fn->source + ": /Code";
  std::string bytes, digest, source, sha256;
  auto hash = [&bytes, &sha256] {
    Digest d(Digest::Algorithm::kSha256);
    d.Update(bytes);
    sha256 = d.Final();
  };
  if (!fn->code_zip_file.empty()) {
    source = fn->code_zip_file;
    UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return Status::FromErrno(where + "/ZipFile: " + source, errno);
    ASSIGN_OR_RETURN(bytes, ReadPackage(fd.get(), source));
    hash();
    digest = HexEncode(sha256).substr(0, 32);
  } else {
    source = "s3://" + fn->code_s3_bucket + "/" + fn->code_s3_key;
    auto object = store.OpenObjectForRead(fn->code_s3_bucket, fn->code_s3_key);
    if (!object.ok()) {
      return Status(object.status().code(), where + ": " + source + ": " + object.status().message());
    }
    struct stat st;
    if (::fstat(object->fd.get(), &st) != 0) return Status::FromErrno(where + ": " + source, errno);
    bool by_endpoint = !object->info.caller.empty();
    if (!by_endpoint && st.st_uid != 0 && st.st_uid != ::geteuid()) {
      return Status::PermissionDenied(where + ": " + source + " was dropped into the bucket's folder by uid " +
                                      std::to_string(st.st_uid) + ", not written through the endpoint; bucketd "
                                      "runs a package only when an IAM principal allowed to wrote it (aws s3 cp), "
                                      "or when bucketd's user or root owns its file");
    }
    ASSIGN_OR_RETURN(bytes, ReadPackage(object->fd.get(), source));
    hash();
    digest = object->info.etag;
    digest.erase(std::remove(digest.begin(), digest.end(), '"'), digest.end());
  }
  auto dir = UnpackCode(state_dir, fn->name, digest, bytes, source);
  if (!dir.ok()) return Status(dir.status().code(), where + ": " + dir.status().message());
  fn->code_directory = *dir;
  fn->code_sha256 = Base64Encode(sha256);
  fn->code_size = bytes.size();
  return Status::OK();
}

}  // namespace bucketd::runner
