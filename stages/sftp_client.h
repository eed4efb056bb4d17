// A small SFTP client over libssh: connect with host key verification
// against a known_hosts file, authenticate with a private key or a password,
// list a directory, and download a file into a local file, resuming where
// the local file ends.
#ifndef BUCKETD_STAGES_SFTP_CLIENT_H_
#define BUCKETD_STAGES_SFTP_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace bucketd::stages {

struct SftpSecret {
  std::string private_key;  // PEM / OpenSSH text; or
  std::string password;
  std::string source;       // where it came from, for messages (never the secret)
};

struct SftpEndpoint {
  std::string host;
  int port = 22;
  std::string user;
  std::string known_hosts;  // path; the only host keys trusted
  int timeout_seconds = 30;
};

struct RemoteEntry {
  std::string name;
  uint64_t size = 0;
  int64_t mtime = 0;
  bool directory = false;
};

// Errors: Unavailable for what a retry may cure (connection refused or
// lost, timeouts); PermissionDenied for host key and authentication
// failures, which it never will.
class SftpClient {
 public:
  static Result<std::unique_ptr<SftpClient>> Connect(const SftpEndpoint& endpoint, const SftpSecret& secret);
  ~SftpClient();

  Result<std::vector<RemoteEntry>> List(const std::string& dir);
  // Appends the bytes of `remote` from `local`'s current size up to `size`
  // to `local` (created when missing). `progress(bytes so far)` is called
  // now and then; a set `cancelled` stops the download (Cancelled) with what
  // arrived kept in `local`.
  Status Download(Fs& fs, const std::string& remote, uint64_t size, const std::string& local,
                  const std::function<void(uint64_t)>& progress, const std::atomic<bool>* cancelled);

 private:
  struct Handles;
  explicit SftpClient(std::unique_ptr<Handles> h, std::string where);
  std::unique_ptr<Handles> h_;
  std::string where_;  // "user@host:port"
};

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_SFTP_CLIENT_H_
