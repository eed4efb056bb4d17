#include "daemon/control_socket.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace bucketd::daemon {

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

Result<std::unique_ptr<ControlServer>> ControlServer::Open(const std::string& path, Handler handler,
                                                           ControlServerOptions options) {
  if (options.activated_fd >= 0) {
    int fd = options.activated_fd;
    (void)::fcntl(fd, F_SETFL, O_NONBLOCK);
    return std::unique_ptr<ControlServer>(new ControlServer("(socket activation)", UniqueFd(fd), false,
                                                            std::move(handler), options));
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
  if (::listen(fd.get(), 64) != 0) return Status::FromErrno("listen " + path, errno);
  return std::unique_ptr<ControlServer>(new ControlServer(path, std::move(fd), true, std::move(handler), options));
}

ControlServer::~ControlServer() {
  if (owns_path_) ::unlink(path_.c_str());
}

void ControlServer::AddPollFds(std::vector<struct pollfd>* fds) const {
  fds->push_back({listener_.get(), POLLIN, 0});
  for (const auto& [fd, c] : clients_) {
    // A client whose answers wait unread is not read from either: its
    // further requests wait in the kernel, and poll does not spin on them.
    bool reading = !c.eof && !c.stream && c.out.size() < options_.high_water_bytes &&
                   c.in.size() <= kMaxControlRequestBytes;
    bool sending = !c.out.empty() || c.stream;
    fds->push_back({fd, static_cast<short>((reading ? POLLIN : 0) | (sending ? POLLOUT : 0)), 0});
  }
}

void ControlServer::EvictOne() {
  // The client that has made no progress for longest goes: an idle
  // connection must not keep out one that has something to ask.
  auto oldest = clients_.end();
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (oldest == clients_.end() || it->second.last_progress_ns < oldest->second.last_progress_ns) oldest = it;
  }
  if (oldest != clients_.end()) clients_.erase(oldest);
}

void ControlServer::Accept(int64_t now_ns) {
  for (;;) {
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (clients_.size() >= options_.max_clients) EvictOne();
    Client c;
    c.fd = UniqueFd(fd);
    c.last_progress_ns = now_ns;
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
  if (!c.allowed) {
    c.out += nlohmann::json{{"ok", false},
                            {"error", "permission denied: " + c.who + " is neither root nor in the group bucketd"}}
                 .dump() +
             "\n";
    return;
  }
  nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
  ControlReply reply;
  if (request.is_discarded() || !request.is_object()) {
    reply.answer = {{"ok", false}, {"error", "a request is one JSON object on one line"}};
  } else {
    reply = handler_(request);
  }
  if (reply.next) {
    c.stream = std::move(reply.next);
    return;
  }
  c.out += reply.answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

bool ControlServer::Serve(Client& c, int64_t now_ns) {
  while (!c.stream && c.out.size() < options_.high_water_bytes) {
    size_t nl = c.in.find('\n');
    if (nl == std::string::npos) break;
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    c.request_since_ns = c.in.empty() ? 0 : now_ns;
    if (line.size() > kMaxControlRequestBytes) {
      c.out += nlohmann::json{{"ok", false}, {"error", "request too large (the limit is 64 KiB)"}}.dump() + "\n";
      return false;
    }
    Answer(c, line);
  }
  if (c.in.size() > kMaxControlRequestBytes && c.in.find('\n') == std::string::npos) {
    c.out += nlohmann::json{{"ok", false}, {"error", "request too large (the limit is 64 KiB)"}}.dump() + "\n";
    return false;
  }
  return true;
}

bool ControlServer::Read(Client& c, int64_t now_ns) {
  char buf[16384];
  while (c.in.size() <= kMaxControlRequestBytes) {
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n == 0) {
      c.eof = true;  // done sending; the answers still go out
      return true;
    }
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (c.in.empty()) c.request_since_ns = now_ns;
    c.in.append(buf, static_cast<size_t>(n));
    c.last_progress_ns = now_ns;
  }
  return true;
}

bool ControlServer::Flush(Client& c, int64_t now_ns) {
  constexpr int kPagesPerTurn = 4;  // of a streamed answer, per client per loop
  int pages = 0;
  for (;;) {
    if (c.stream && c.out.size() < options_.high_water_bytes && pages < kPagesPerTurn) {
      ++pages;
      if (!c.stream(&c.out)) c.stream = nullptr;
    }
    if (c.out.empty()) return true;
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.out.erase(0, static_cast<size_t>(n));
    c.last_progress_ns = now_ns;
    if (!c.out.empty()) continue;  // the socket may take more, or says EAGAIN
    if (!c.stream || pages >= kPagesPerTurn) return true;
  }
}

int64_t ControlServer::NanosUntilNextDrop(int64_t now_ns) const {
  int64_t next = INT64_MAX;
  for (const auto& [fd, c] : clients_) {
    next = std::min(next, c.last_progress_ns + options_.idle_ns);
    if (c.request_since_ns != 0) next = std::min(next, c.request_since_ns + options_.request_ns);
  }
  return next == INT64_MAX ? next : std::max<int64_t>(0, next - now_ns) + 1'000'000;
}

void ControlServer::Handle(const std::vector<struct pollfd>& fds, int64_t now_ns) {
  std::vector<int> drop;
  for (const auto& p : fds) {
    if (p.fd == listener_.get()) {
      if (p.revents & POLLIN) Accept(now_ns);
      continue;
    }
    auto it = clients_.find(p.fd);
    if (it == clients_.end()) continue;
    Client& c = it->second;
    bool keep = true;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) keep = Read(c, now_ns);
    // Twice: requests that waited behind a streamed answer are served as
    // soon as it is out, without waiting for the client to send more.
    for (int round = 0; round < 2 && keep; ++round) {
      keep = Serve(c, now_ns) && Flush(c, now_ns);
    }
    // A client that finished sending and has its answers is done.
    if (keep && c.eof && c.out.empty() && !c.stream && c.in.find('\n') == std::string::npos) keep = false;
    if (!keep) {
      (void)Flush(c, now_ns);  // an error answer goes out if it can
      drop.push_back(p.fd);
    }
  }
  for (auto& [fd, c] : clients_) {
    bool stalled = now_ns - c.last_progress_ns > options_.idle_ns;
    bool slow_request = c.request_since_ns != 0 && c.in.find('\n') == std::string::npos &&
                        now_ns - c.request_since_ns > options_.request_ns;
    if (stalled || slow_request) drop.push_back(fd);
  }
  for (int fd : drop) clients_.erase(fd);
}

}  // namespace bucketd::daemon
