#include "daemon/listen_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace bucketd::daemon {

Result<ListenFds> ClassifyListenFds(const std::vector<int>& fds, const std::vector<std::string>& names) {
  ListenFds out;
  auto take = [&](int* slot, int fd, const std::string& name, const char* role) -> Status {
    if (*slot >= 0) {
      return Status::InvalidArgument("socket activation: two sockets for the " + std::string(role) +
                                     " (the second is '" + name + "'); name them with FileDescriptorName=control "
                                     "and FileDescriptorName=api");
    }
    *slot = fd;
    return Status::OK();
  };
  for (size_t i = 0; i < fds.size(); ++i) {
    int fd = fds[i];
    std::string name = i < names.size() ? names[i] : "unknown";
    if (name == "control") {
      RETURN_IF_ERROR(take(&out.control, fd, name, "control socket"));
    } else if (name == "api") {
      RETURN_IF_ERROR(take(&out.api, fd, name, "AWS API endpoint"));
    } else if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) > 0) {
      RETURN_IF_ERROR(take(&out.control, fd, name, "control socket"));
    } else if (sd_is_socket_inet(fd, 0, SOCK_STREAM, 1, 0) > 0) {
      RETURN_IF_ERROR(take(&out.api, fd, name, "AWS API endpoint"));
    } else {
      return Status::InvalidArgument("socket activation: socket " + std::to_string(i) + " ('" + name +
                                     "') is neither a listening Unix stream socket (the control socket) nor a "
                                     "listening TCP socket (the AWS API endpoint)");
    }
  }
  if (out.api >= 0 && sd_is_socket_inet(out.api, 0, SOCK_STREAM, 1, 0) <= 0) {
    return Status::InvalidArgument("socket activation: the socket named 'api' is not a listening TCP socket");
  }
  if (out.control >= 0 && sd_is_socket_unix(out.control, SOCK_STREAM, 1, nullptr, 0) <= 0) {
    return Status::InvalidArgument("socket activation: the socket named 'control' is not a listening Unix socket");
  }
  return out;
}

Result<ListenFds> TakeListenFds() {
  char** names = nullptr;
  int n = sd_listen_fds_with_names(1, &names);
  if (n < 0) return Status::FromErrno("sd_listen_fds", -n);
  std::vector<int> fds;
  std::vector<std::string> name_list;
  for (int i = 0; i < n; ++i) {
    int fd = SD_LISTEN_FDS_START + i;
    (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
    fds.push_back(fd);
    name_list.push_back(names != nullptr && names[i] != nullptr ? names[i] : "unknown");
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  return ClassifyListenFds(fds, name_list);
}

}  // namespace bucketd::daemon
