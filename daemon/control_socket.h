// bucketd's control socket: a Unix stream socket (default
// $RUNTIME_DIRECTORY/control.sock, else /run/bucketd/control.sock, or the one
// systemd passes with socket activation) taking one JSON request per line and
// answering one JSON line each. Protocol: docs/control.md.
//
// Access (SO_PEERCRED, SO_PEERGROUPS): root, bucketd's own user, and
// members of the group "bucketd" (primary or supplementary); anyone else gets {"ok":false,"error":"permission denied: …"}.
// A request over 64 KiB, or not JSON, gets an error reply; a client that
// sends nothing or reads nothing is dropped after a while; none of it can
// stall the main loop (every descriptor is non-blocking).
//
// Thread-safety: one thread (the daemon's main loop).
#ifndef BUCKETD_DAEMON_CONTROL_SOCKET_H_
#define BUCKETD_DAEMON_CONTROL_SOCKET_H_

#include <poll.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/unique_fd.h"

namespace bucketd::daemon {

inline constexpr size_t kMaxControlRequestBytes = 64 << 10;

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  // Listens on `path` (replacing a stale socket file; mode 0660), or on the
  // socket systemd passed (LISTEN_FDS) when there is one.
  static Result<std::unique_ptr<ControlServer>> Open(const std::string& path, Handler handler);
  ~ControlServer();

  // Adds the descriptors to poll; Handle takes the poll results back.
  void AddPollFds(std::vector<struct pollfd>* fds) const;
  void Handle(const std::vector<struct pollfd>& fds, int64_t now_ns);
  const std::string& path() const { return path_; }

 private:
  struct Client {
    UniqueFd fd;
    bool allowed = false;
    std::string who;  // "uid N" for messages
    std::string in, out;
    int64_t last_active_ns = 0;
  };
  ControlServer(std::string path, UniqueFd listener, bool owns_path, Handler handler)
      : path_(std::move(path)), listener_(std::move(listener)), owns_path_(owns_path),
        handler_(std::move(handler)) {}
  void Accept(int64_t now_ns);
  // false: drop the client.
  bool Read(Client& c);
  bool Flush(Client& c);
  void Answer(Client& c, const std::string& line);

  std::string path_;
  UniqueFd listener_;
  bool owns_path_;
  Handler handler_;
  std::map<int, Client> clients_;
};

// Whether a peer with these credentials (uid, primary and supplementary
// groups) may use the socket.
bool PeerAllowed(uid_t uid, gid_t gid, const std::vector<gid_t>& groups);
// The connected peer's supplementary groups (SO_PEERGROUPS); empty when the
// kernel does not say.
std::vector<gid_t> PeerGroups(int fd);

}  // namespace bucketd::daemon

#endif  // BUCKETD_DAEMON_CONTROL_SOCKET_H_
