#include "daemon/config_permissions.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace bucketd::daemon {

namespace {

// sticky_ok: a sticky directory that others may write is fine (the path
// below it is checked on its own).
Status CheckOne(const std::string& path, bool sticky_ok = false) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::OK() : Status::FromErrno("stat " + path, errno);
  }
  if (sticky_ok && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)) return Status::OK();
  uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    return Status::PermissionDenied(path + " is owned by uid " + std::to_string(st.st_uid) +
                                    ", not by bucketd's user (uid " + std::to_string(me) +
                                    ") or root; bucketd runs the functions its configuration names");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied(path + " is writable by " +
                                    ((st.st_mode & S_IWOTH) ? "others" : "its group") + " (mode " +
                                    mode + "); bucketd runs the functions its configuration names, "
                                    "so only its owner may change it: chmod go-w " + path);
  }
  return Status::OK();
}

// Names of the entries of `dir` that `keep` wants.
std::vector<std::string> Entries(const std::string& dir, bool (*keep)(const std::string&)) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && keep(n)) names.push_back(n);
  }
  ::closedir(d);
  return names;
}

bool IsJson(const std::string& n) { return n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0; }
bool Any(const std::string&) { return true; }

}  // namespace

Status CheckTrustedPath(const std::string& path, const std::string& what, bool with_files) {
  auto in_role = [&](Status s) {
    return s.ok() ? s : Status::PermissionDenied(what + ": " + s.message());
  };
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::OK();  // a missing program fails where it is run
  RETURN_IF_ERROR(in_role(CheckOne(path)));
  if (with_files && S_ISDIR(st.st_mode)) {
    for (const auto& n : Entries(path, Any)) RETURN_IF_ERROR(in_role(CheckOne(path + "/" + n)));
  }
  for (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0; slash = path.rfind('/', slash - 1)) {
    RETURN_IF_ERROR(in_role(CheckOne(path.substr(0, slash), /*sticky_ok=*/true)));
  }
  return in_role(CheckOne("/", /*sticky_ok=*/true));
}

Status CheckStateDirPermissions(const std::string& dir) {
  Status s = CheckOne(dir);
  if (s.ok()) return s;
  return Status::PermissionDenied("the state directory: " + s.message());
}

Status CheckConfigPermissions(const std::string& config_dir, const std::vector<std::string>& dirs) {
  if (!config_dir.empty()) {
    RETURN_IF_ERROR(CheckOne(config_dir));
    RETURN_IF_ERROR(CheckOne(config_dir + "/bucketd.json"));
  }
  for (const std::string& dir : dirs) {
    if (dir.empty()) continue;
    RETURN_IF_ERROR(CheckOne(dir));
    for (const auto& n : Entries(dir, IsJson)) RETURN_IF_ERROR(CheckOne(dir + "/" + n));
  }
  return Status::OK();
}

}  // namespace bucketd::daemon
