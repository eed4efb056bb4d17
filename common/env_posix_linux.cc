// PosixFs and SystemClock: the only production Env.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "common/env.h"

namespace bucketd {

bool FileStat::IsDir() const { return S_ISDIR(mode); }
bool FileStat::IsRegular() const { return S_ISREG(mode); }
bool FileStat::IsSymlink() const { return S_ISLNK(mode); }

namespace {

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string ctx(what);
  ctx += " '";
  ctx += path;
  ctx += "'";
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Status::NotFound(ctx + ": " + std::strerror(err));
    case EEXIST:
    case ENOTEMPTY:
      return Status::AlreadyExists(ctx + ": " + std::strerror(err));
    case EACCES:
    case EPERM:
    case ELOOP:
      return Status::PermissionDenied(ctx + ": " + std::strerror(err));
    case EXDEV:
      return Status::PermissionDenied(ctx + ": resolves outside its base directory");
    default:
      return Status::FromErrno(ctx, err);
  }
}

FileStat FromStatx(const struct statx& st) {
  FileStat f;
  f.size = st.stx_size;
  f.mtime_ns = static_cast<int64_t>(st.stx_mtime.tv_sec) * 1000000000LL + st.stx_mtime.tv_nsec;
  f.mode = st.stx_mode;
  f.ino = st.stx_ino;
  f.dev = makedev(st.stx_dev_major, st.stx_dev_minor);
  f.uid = st.stx_uid;
  f.gid = st.stx_gid;
  f.nlink = st.stx_nlink;
  if ((st.stx_mask & STATX_BTIME) != 0) {
    f.btime_ns = static_cast<int64_t>(st.stx_btime.tv_sec) * 1000000000LL + st.stx_btime.tv_nsec;
  }
  return f;
}

// statx rather than stat for the birth time, which no system call can set:
// the object metadata's seal binds to it (store/object_meta.h).
int StatxAt(int dir, const char* path, int flags, struct statx* st) {
  return ::statx(dir, path, flags | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME, st);
}

std::string FdName(int fd) { return "fd " + std::to_string(fd); }

class PosixFs final : public Fs {
 public:
  Result<UniqueFd> OpenAt(int dir, const std::string& path, int flags, mode_t mode) override {
    int fd = ::openat(dir, path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    return UniqueFd(fd);
  }

  Result<UniqueFd> OpenBeneath(int dir, const std::string& path, int flags, mode_t mode) override {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
    how.mode = creates ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (;;) {
      long fd = ::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how));
      if (fd >= 0) return UniqueFd(static_cast<int>(fd));
      // openat2 fails with EAGAIN when a concurrent rename raced the lookup.
      if (errno == EAGAIN || errno == EINTR) continue;
      return ErrnoStatus("open", path, errno);
    }
  }

  Status MkdirAt(int dir, const std::string& name, mode_t mode) override {
    if (::mkdirat(dir, name.c_str(), mode) != 0) return ErrnoStatus("mkdir", name, errno);
    return Status::OK();
  }

  Result<size_t> Read(int fd, char* buf, size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd, buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return ErrnoStatus("read", FdName(fd), errno);
    }
  }

  Result<size_t> PRead(int fd, char* buf, size_t n, uint64_t offset) override {
    for (;;) {
      ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return ErrnoStatus("read", FdName(fd), errno);
    }
  }

  Status WriteAll(int fd, std::string_view data) override {
    while (!data.empty()) {
      ssize_t w = ::write(fd, data.data(), data.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", FdName(fd), errno);
      }
      data.remove_prefix(static_cast<size_t>(w));
    }
    return Status::OK();
  }

  Status Fsync(int fd) override {
    if (::fsync(fd) != 0) return ErrnoStatus("fsync", FdName(fd), errno);
    return Status::OK();
  }

  void StartWriteback(int fd, uint64_t offset, uint64_t len) override {
    (void)::sync_file_range(fd, static_cast<off64_t>(offset), static_cast<off64_t>(len), SYNC_FILE_RANGE_WRITE);
  }

  Status RenameAt(int from_dir, const std::string& from, int to_dir, const std::string& to,
                  bool no_replace) override {
    unsigned flags = no_replace ? RENAME_NOREPLACE : 0;
    if (::renameat2(from_dir, from.c_str(), to_dir, to.c_str(), flags) != 0) {
      return ErrnoStatus("rename to", to, errno);
    }
    return Status::OK();
  }

  Status UnlinkAt(int dir, const std::string& name, bool is_dir) override {
    if (::unlinkat(dir, name.c_str(), is_dir ? AT_REMOVEDIR : 0) != 0) {
      return ErrnoStatus(is_dir ? "rmdir" : "unlink", name, errno);
    }
    return Status::OK();
  }

  Result<FileStat> Stat(int fd) override {
    struct statx st;
    if (StatxAt(fd, "", AT_EMPTY_PATH, &st) != 0) return ErrnoStatus("stat", FdName(fd), errno);
    return FromStatx(st);
  }

  Result<FileStat> StatAt(int dir, const std::string& path, bool follow) override {
    struct statx st;
    if (StatxAt(dir, path.c_str(), follow ? 0 : AT_SYMLINK_NOFOLLOW, &st) != 0) {
      return ErrnoStatus("stat", path, errno);
    }
    return FromStatx(st);
  }

  Result<std::vector<DirEntry>> ReadDir(int dir_fd) override {
    // fdopendir takes ownership and shares the offset, so read a fresh handle.
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open directory", FdName(dir_fd), errno);
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("open directory", FdName(dir_fd), err);
    }
    std::vector<DirEntry> out;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view n(e->d_name);
      if (n == "." || n == "..") continue;
      DirEntry de;
      de.name.assign(n);
      switch (e->d_type) {
        case DT_REG: de.type = DirEntry::Type::kFile; break;
        case DT_DIR: de.type = DirEntry::Type::kDir; break;
        case DT_LNK: de.type = DirEntry::Type::kSymlink; break;
        case DT_UNKNOWN: {
          struct stat st;
          if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            de.type = S_ISREG(st.st_mode)   ? DirEntry::Type::kFile
                      : S_ISDIR(st.st_mode) ? DirEntry::Type::kDir
                      : S_ISLNK(st.st_mode) ? DirEntry::Type::kSymlink
                                            : DirEntry::Type::kOther;
          }
          break;
        }
        default: de.type = DirEntry::Type::kOther;
      }
      out.push_back(std::move(de));
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoStatus("read directory", FdName(dir_fd), err);
    return out;
  }

  Result<std::string> GetXattr(int fd, const std::string& name) override {
    std::string buf(512, '\0');
    for (;;) {
      ssize_t n = ::fgetxattr(fd, name.c_str(), buf.data(), buf.size());
      if (n >= 0) {
        buf.resize(static_cast<size_t>(n));
        return buf;
      }
      if (errno == ENODATA) return Status::NotFound("no attribute " + name);
      if (errno != ERANGE) return ErrnoStatus("getxattr", name, errno);
      ssize_t need = ::fgetxattr(fd, name.c_str(), nullptr, 0);
      if (need < 0) return ErrnoStatus("getxattr", name, errno);
      buf.resize(static_cast<size_t>(need) + 1);
    }
  }

  Status SetXattr(int fd, const std::string& name, std::string_view value) override {
    if (::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) != 0) {
      return ErrnoStatus("setxattr", name, errno);
    }
    return Status::OK();
  }

  Status RemoveXattr(int fd, const std::string& name) override {
    if (::fremovexattr(fd, name.c_str()) != 0) {
      if (errno == ENODATA) return Status::NotFound("no attribute " + name);
      return ErrnoStatus("removexattr", name, errno);
    }
    return Status::OK();
  }

  Status Fchown(int fd, uid_t uid, gid_t gid) override {
    if (::fchown(fd, uid, gid) != 0) return ErrnoStatus("chown", FdName(fd), errno);
    return Status::OK();
  }

  Status LinkTmpFile(int fd, int dir, const std::string& name) override {
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH on older kernels; the /proc
    // link works for any owner of the descriptor.
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (::linkat(AT_FDCWD, proc.c_str(), dir, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      return Status::OK();
    }
    int err = errno;
    if (err == ENOENT && ::linkat(fd, "", dir, name.c_str(), AT_EMPTY_PATH) == 0) {
      return Status::OK();
    }
    return ErrnoStatus("link", name, err);
  }

  Result<bool> Lock(int fd, bool exclusive, bool wait) override {
    int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
    for (;;) {
      if (::flock(fd, op) == 0) return true;
      if (errno == EWOULDBLOCK && !wait) return false;
      if (errno != EINTR) return ErrnoStatus("flock", FdName(fd), errno);
    }
  }
};

class SystemClock final : public Clock {
 public:
  int64_t NowNanos() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class EngineRandom final : public Random {
 public:
  uint64_t Next() override {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return engine();
  }
};

}  // namespace

Random& SystemRandom() {
  static EngineRandom random;
  return random;
}

Env& Env::Default() {
  static PosixFs fs;
  static SystemClock clock;
  static Env env(fs, clock);
  return env;
}

}  // namespace bucketd
