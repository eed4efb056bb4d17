#include "cli/local_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace bucketd::cli {

namespace {

class FdSink final : public store::ByteSink {
 public:
  FdSink(Fs& fs, int fd) : fs_(fs), fd_(fd) {}
  Status Write(std::string_view data) override { return fs_.WriteAll(fd_, data); }

 private:
  Fs& fs_;
  int fd_;
};

Status Walk(Fs& fs, int dir_fd, const std::string& rel, std::vector<std::string>* out) {
  ASSIGN_OR_RETURN(auto entries, fs.ReadDir(dir_fd));
  for (const DirEntry& e : entries) {
    std::string path = rel.empty() ? e.name : rel + "/" + e.name;
    if (e.type == DirEntry::Type::kDir) {
      ASSIGN_OR_RETURN(UniqueFd sub, fs.OpenAt(dir_fd, e.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      RETURN_IF_ERROR(Walk(fs, sub.get(), path, out));
    } else if (e.type == DirEntry::Type::kFile) {
      out->push_back(path);
    } else if (e.type == DirEntry::Type::kSymlink) {
      auto st = fs.StatAt(dir_fd, e.name, true);
      if (st.ok() && st->IsRegular()) out->push_back(path);  // aws s3 follows file links
    }
  }
  return Status::OK();
}

Status MakeParents(Fs& fs, const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    Status s = fs.MkdirAt(AT_FDCWD, path.substr(0, pos), 0755);
    if (!s.ok() && !s.IsAlreadyExists()) return s;
  }
  return Status::OK();
}

}  // namespace

bool IsLocalDir(Fs& fs, const std::string& path) {
  auto st = fs.StatAt(AT_FDCWD, path, true);
  return st.ok() && st->IsDir();
}

Result<std::vector<std::string>> ListLocalFiles(Fs& fs, const std::string& dir) {
  ASSIGN_OR_RETURN(UniqueFd fd, fs.OpenAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY));
  std::vector<std::string> out;
  RETURN_IF_ERROR(Walk(fs, fd.get(), "", &out));
  std::sort(out.begin(), out.end());
  return out;
}

Status WriteLocalFileAtomically(Env& env, const std::string& path,
                                const std::function<Status(store::ByteSink&)>& produce) {
  Fs& fs = env.fs();
  RETURN_IF_ERROR(MakeParents(fs, path));
  std::string tmp = path + ".bucketctl-" + std::to_string(::getpid()) + ".tmp";
  ASSIGN_OR_RETURN(UniqueFd fd, fs.OpenAt(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
  FdSink sink(fs, fd.get());
  Status s = produce(sink);
  if (s.ok()) s = fs.Fsync(fd.get());
  if (s.ok()) s = fs.RenameAt(AT_FDCWD, tmp, AT_FDCWD, path, false);
  if (!s.ok()) (void)fs.UnlinkAt(AT_FDCWD, tmp, false);
  return s;
}

}  // namespace bucketd::cli
