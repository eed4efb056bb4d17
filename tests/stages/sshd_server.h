// A real OpenSSH server (Debian's openssh-server) for the SFTP tests: its
// own host key, a client key it accepts, internal-sftp only, listening on
// 127.0.0.1 on a free port, stopped when the object goes away.
#ifndef BUCKETD_TESTS_STAGES_SSHD_SERVER_H_
#define BUCKETD_TESTS_STAGES_SSHD_SERVER_H_

#include <string>

namespace bucketd::testing {

class SshdServer {
 public:
  // Generates the keys and the config in `dir` (which must exist).
  explicit SshdServer(std::string dir);
  ~SshdServer();
  // Starts sshd and waits until it accepts connections; false on failure
  // (with the reason in error()).
  bool Start();
  void Stop();

  int port() const { return port_; }
  const std::string& user() const { return user_; }
  std::string client_key() const { return dir_ + "/client_key"; }
  // The known_hosts line for this server's host key.
  std::string KnownHostsLine() const;
  // "SHA256:…" of the host key, from ssh-keygen -l.
  std::string HostFingerprint() const;
  const std::string& error() const { return error_; }

  // A new ed25519 key pair at `path` (and path.pub).
  static void MakeKey(const std::string& path);

 private:
  std::string dir_, user_, error_;
  int port_ = 0;
  int pid_ = -1;
};

}  // namespace bucketd::testing

#endif  // BUCKETD_TESTS_STAGES_SSHD_SERVER_H_
