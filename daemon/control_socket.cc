#include "daemon/control_socket.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace bucketd::daemon {

namespace {

constexpr int64_t kIdleNs = 30LL * 1'000'000'000;  // a silent client is dropped after this
constexpr size_t kMaxClients = 64;

}  // namespace

bool PeerAllowed(uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
  if (uid == 0 || uid == ::geteuid()) return true;
  struct group* g = ::getgrnam("bucketd");
  if (g == nullptr) return false;
  return gid == g->gr_gid || std::find(groups.begin(), groups.end(), g->gr_gid) != groups.end();
}

std::vector<gid_t> PeerGroups(int fd) {
  // The kernel's copy of the peer's supplementary groups, taken at connect:
  // unlike /proc/<pid>/status it is there under ProtectProc=invisible.
  std::vector<gid_t> groups(64);
  for (int tries = 0; tries < 4; ++tries) {
    socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE) break;
    groups.resize(len / sizeof(gid_t) + 1);
  }
  return {};
}

Result<std::unique_ptr<ControlServer>> ControlServer::Open(const std::string& path, Handler handler) {
  if (sd_listen_fds(0) >= 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, nullptr, 0) > 0) {
    int fd = SD_LISTEN_FDS_START;
    (void)::fcntl(fd, F_SETFD, FD_CLOEXEC);
    (void)::fcntl(fd, F_SETFL, O_NONBLOCK);
    return std::unique_ptr<ControlServer>(new ControlServer("(socket activation)", UniqueFd(fd), false,
                                                            std::move(handler)));
  }
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return Status::InvalidArgument("--socket '" + path + "' is longer than a Unix socket path may be");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Status::FromErrno("socket", errno);
  ::unlink(path.c_str());  // a stale socket of an earlier bucketd (the state lock says we are alone)
  if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    return Status::FromErrno("bind " + path, errno);
  }
  ::chmod(path.c_str(), 0660);
  if (::listen(fd.get(), 16) != 0) return Status::FromErrno("listen " + path, errno);
  return std::unique_ptr<ControlServer>(new ControlServer(path, std::move(fd), true, std::move(handler)));
}

ControlServer::~ControlServer() {
  if (owns_path_) ::unlink(path_.c_str());
}

void ControlServer::AddPollFds(std::vector<struct pollfd>* fds) const {
  fds->push_back({listener_.get(), POLLIN, 0});
  for (const auto& [fd, c] : clients_) {
    fds->push_back({fd, static_cast<short>(c.out.empty() ? POLLIN : POLLIN | POLLOUT), 0});
  }
}

void ControlServer::Accept(int64_t now_ns) {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (clients_.size() >= kMaxClients) {
      ::close(fd);
      continue;
    }
    Client c;
    c.fd = UniqueFd(fd);
    c.last_active_ns = now_ns;
    struct ucred cred = {};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      c.allowed = PeerAllowed(cred.uid, cred.gid, PeerGroups(fd));
      c.who = "uid " + std::to_string(cred.uid);
    }
    clients_.emplace(fd, std::move(c));
  }
}

void ControlServer::Answer(Client& c, const std::string& line) {
  nlohmann::json reply;
  if (!c.allowed) {
    reply = {{"ok", false},
             {"error", "permission denied: " + c.who + " is neither root nor in the group bucketd"}};
  } else {
    nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
      reply = {{"ok", false}, {"error", "a request is one JSON object on one line"}};
    } else {
      reply = handler_(request);
    }
  }
  c.out += reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

bool ControlServer::Read(Client& c) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n == 0) return !c.out.empty();  // the client is done sending; finish the reply
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.in.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = c.in.find('\n')) != std::string::npos;) {
      std::string line = c.in.substr(0, nl);
      c.in.erase(0, nl + 1);
      if (line.size() > kMaxControlRequestBytes) {
        c.out += nlohmann::json{{"ok", false}, {"error", "request too large (the limit is 64 KiB)"}}.dump() + "\n";
        return false;
      }
      Answer(c, line);
    }
    if (c.in.size() > kMaxControlRequestBytes) {
      c.out += nlohmann::json{{"ok", false}, {"error", "request too large (the limit is 64 KiB)"}}.dump() + "\n";
      (void)Flush(c);
      return false;
    }
  }
}

bool ControlServer::Flush(Client& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.out.erase(0, static_cast<size_t>(n));
  }
  return true;
}

void ControlServer::Handle(const std::vector<struct pollfd>& fds, int64_t now_ns) {
  std::vector<int> drop;
  for (const auto& p : fds) {
    if (p.fd == listener_.get()) {
      if (p.revents & POLLIN) Accept(now_ns);
      continue;
    }
    auto it = clients_.find(p.fd);
    if (it == clients_.end() || p.revents == 0) continue;
    Client& c = it->second;
    c.last_active_ns = now_ns;
    bool keep = true;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) keep = Read(c);
    if (!Flush(c)) keep = false;
    if (!keep) drop.push_back(p.fd);
  }
  for (auto& [fd, c] : clients_) {
    if (now_ns - c.last_active_ns > kIdleNs) drop.push_back(fd);
  }
  for (int fd : drop) clients_.erase(fd);
}

}  // namespace bucketd::daemon
