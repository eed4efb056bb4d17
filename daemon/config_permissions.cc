#include "daemon/config_permissions.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace bucketd::daemon {

namespace {

Status CheckOne(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::OK() : Status::FromErrno("stat " + path, errno);
  }
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

}  // namespace

Status CheckConfigPermissions(const std::string& config_dir, const std::vector<std::string>& dirs) {
  if (!config_dir.empty()) {
    RETURN_IF_ERROR(CheckOne(config_dir));
    RETURN_IF_ERROR(CheckOne(config_dir + "/bucketd.json"));
  }
  for (const std::string& dir : dirs) {
    if (dir.empty()) continue;
    RETURN_IF_ERROR(CheckOne(dir));
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) names.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : names) RETURN_IF_ERROR(CheckOne(dir + "/" + n));
  }
  return Status::OK();
}

}  // namespace bucketd::daemon
