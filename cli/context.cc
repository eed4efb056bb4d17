#include "cli/context.h"

#include "common/file_util.h"

#include <fcntl.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>

namespace bucketd::cli {

Result<store::Store*> Context::Store() {
  if (!store_) {
    struct stat st;
    if (root_.empty() && ::stat("/srv/bucketd", &st) == 0) root_ = "/srv/bucketd";  // as the unit runs bucketd
    if (root_.empty()) {
      return Status::InvalidArgument("no store given: pass --root DIR or set BUCKETD_ROOT (/srv/bucketd does not exist)");
    }
    // Safe beside a running daemon: Open only removes temp files whose
    // writer is gone (their lock is free).
    ASSIGN_OR_RETURN(store_, store::Store::Open(env_, root_));
  }
  return store_.get();
}

Result<std::string> Context::StateDir() {
  if (!state_dir_.empty()) return state_dir_;
  if (std::string sd = SystemdDirectory("STATE_DIRECTORY"); !sd.empty()) return sd;
  struct stat st;
  if (root_.empty() && ::stat("/var/lib/bucketd", &st) == 0) return std::string("/var/lib/bucketd");
  if (root_.empty()) {
    return Status::InvalidArgument("no state directory: pass --state-dir DIR or --root DIR");
  }
  return root_ + "/.bucketd";
}

Result<std::string> Context::ConfigDir() {
  if (!config_dir_.empty()) return config_dir_;
  if (std::string cd = SystemdDirectory("CONFIGURATION_DIRECTORY"); !cd.empty()) return cd;
  // As bucketd finds it.
  if (auto st = env_.fs().StatAt(AT_FDCWD, "/etc/bucketd", true); st.ok() && st->IsDir()) return std::string("/etc/bucketd");
  return Status::InvalidArgument("no configuration directory: pass --config-dir DIR");
}

int Context::Fail(const Status& s) {
  std::fprintf(stderr, "bucketctl: %s\n", s.message().empty() ? s.ToString().c_str()
                                                               : s.message().c_str());
  return 1;
}

Result<std::unique_ptr<events::Trail>> Context::OpenTrail(bool read_only) {
  ASSIGN_OR_RETURN(std::string dir, StateDir());
  auto st = env_.fs().StatAt(AT_FDCWD, dir + "/trail.db", true);
  if (!st.ok()) {
    return Status::NotFound("no trail in '" + dir + "' (has bucketd run with this state directory?)");
  }
  return events::Trail::Open(env_, dir, read_only);
}

Result<nlohmann::json> Context::Control(const nlohmann::json& request) {
  std::string path = socket_;
  if (path.empty()) {
    if (const char* env = std::getenv("BUCKETD_SOCKET"); env != nullptr && *env != '\0') path = env;
  }
  if (path.empty()) {
    // A foreground bucketd keeps its socket in its state directory; an
    // installed one in /run/bucketd.
    struct stat st;
    auto dir = StateDir();
    bool given = !state_dir_.empty() || !root_.empty();
    if (given && dir.ok() && ::stat((*dir + "/control.sock").c_str(), &st) == 0) {
      path = *dir + "/control.sock";
    } else if (::stat("/run/bucketd/control.sock", &st) == 0) {
      path = "/run/bucketd/control.sock";
    } else {
      if (!dir.ok()) return dir.status();
      path = *dir + "/control.sock";
    }
  }
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Status::InvalidArgument("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Status::FromErrno("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (err == EACCES) return Status::PermissionDenied("permission denied: cannot connect to " + path);
    return Status::Unavailable("no bucketd answers at " + path + " (" + std::strerror(err) + ")");
  }
  std::string line = request.dump() + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return Status::FromErrno("send to " + path, errno);
  }
  std::string reply;
  char buf[65536];
  while (reply.find('\n') == std::string::npos) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) return Status::IOError("bucketd closed " + path + " without an answer");
    reply.append(buf, static_cast<size_t>(n));
  }
  auto j = nlohmann::json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::IOError("bucketd's answer is not JSON: " + reply);
  return j;
}

}  // namespace bucketd::cli
