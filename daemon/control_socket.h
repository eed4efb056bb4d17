// bucketd's control socket: a Unix stream socket (default
// $RUNTIME_DIRECTORY/control.sock, else /run/bucketd/control.sock, or the one
// systemd passes with socket activation) taking one JSON request per line and
// answering one JSON line each. Protocol: docs/control.md.
//
// Access (SO_PEERCRED, SO_PEERGROUPS): root, bucketd's own user, and
// members of the group "bucketd" (primary or supplementary); anyone else
// gets {"ok":false,"error":"permission denied: …"}.
//
// No client can stall the main loop or starve the others: every descriptor
// is non-blocking; a large answer is made a page at a time, as the client
// reads it, so what waits for one client stays small; a client that makes no
// progress (sends or reads nothing) for idle_ns, or takes longer than
// request_ns to send one request line, is dropped; and when max_clients are
// connected, a new client evicts the one idle longest instead of being
// refused.
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

// A handler's answer: one whole line, or one made piece by piece.
struct ControlReply {
  nlohmann::json answer;  // the whole answer, when `next` is empty
  // Appends the next piece of the answer's text to *out; returns false once
  // the last piece (ending in "\n") is out. Called only while what waits for
  // the client is below ControlServerOptions::high_water_bytes.
  std::function<bool(std::string* out)> next;
};

struct ControlServerOptions {
  size_t max_clients = 64;                          // then the longest idle is evicted
  int64_t idle_ns = 30'000'000'000;                 // no progress this long: dropped
  int64_t request_ns = 10'000'000'000;              // one request line must arrive within this
  size_t high_water_bytes = 256 << 10;              // more of a streamed answer is made below this
  int activated_fd = -1;  // a listening socket systemd passed (daemon/listen_fds.h); -1: bind `path`
};

class ControlServer {
 public:
  using Handler = std::function<ControlReply(const nlohmann::json& request)>;

  // Listens on `path` (replacing a stale socket file; mode 0660), or on
  // options.activated_fd when systemd passed one.
  static Result<std::unique_ptr<ControlServer>> Open(const std::string& path, Handler handler,
                                                     ControlServerOptions options = {});
  ~ControlServer();

  // Adds the descriptors to poll; Handle takes the poll results back.
  void AddPollFds(std::vector<struct pollfd>* fds) const;
  void Handle(const std::vector<struct pollfd>& fds, int64_t now_ns);
  // Nanoseconds until a client's idle or request time runs out (INT64_MAX:
  // none), so the loop wakes to drop it.
  int64_t NanosUntilNextDrop(int64_t now_ns) const;
  const std::string& path() const { return path_; }

 private:
  struct Client {
    UniqueFd fd;
    bool allowed = false;
    std::string who;  // "uid N" for messages
    std::string in, out;
    std::function<bool(std::string*)> stream;  // the answer being made, if any
    int64_t last_progress_ns = 0;   // bytes read or sent
    int64_t request_since_ns = 0;   // the first byte of the request in `in` (0: none)
    bool eof = false;               // the client is done sending
  };
  ControlServer(std::string path, UniqueFd listener, bool owns_path, Handler handler,
                ControlServerOptions options)
      : path_(std::move(path)), listener_(std::move(listener)), owns_path_(owns_path),
        handler_(std::move(handler)), options_(options) {}
  void Accept(int64_t now_ns);
  void EvictOne();
  // false: drop the client.
  bool Read(Client& c, int64_t now_ns);
  // Answers the complete requests in c.in while no answer is being made.
  bool Serve(Client& c, int64_t now_ns);
  bool Flush(Client& c, int64_t now_ns);
  void Answer(Client& c, const std::string& line);

  std::string path_;
  UniqueFd listener_;
  bool owns_path_;
  Handler handler_;
  ControlServerOptions options_;
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
