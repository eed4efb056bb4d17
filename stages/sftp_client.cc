#include "stages/sftp_client.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "common/unique_fd.h"

namespace bucketd::stages {

struct SftpClient::Handles {
  ssh_session session = nullptr;
  sftp_session sftp = nullptr;
  ~Handles() {
    if (sftp) sftp_free(sftp);
    if (session) {
      ssh_disconnect(session);
      ssh_free(session);
    }
  }
};

namespace {

std::string Where(const SftpEndpoint& e) { return e.user + "@" + e.host + ":" + std::to_string(e.port); }

// "SHA256:…" of the server's host key, as ssh-keygen -l prints it.
std::string ServerFingerprint(ssh_session s) {
  ssh_key key = nullptr;
  if (ssh_get_server_publickey(s, &key) != SSH_OK) return "(no host key)";
  unsigned char* hash = nullptr;
  size_t len = 0;
  std::string out = "(unknown)";
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) == 0) {
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
    if (fp) {
      out = fp;
      ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&hash);
  }
  std::string type = ssh_key_type_to_char(ssh_key_type(key)) ? ssh_key_type_to_char(ssh_key_type(key)) : "";
  ssh_key_free(key);
  return type + " " + out;
}

Status VerifyHost(ssh_session s, const SftpEndpoint& e) {
  std::string fp = ServerFingerprint(s);
  std::string where = e.host + ":" + std::to_string(e.port);
  switch (ssh_session_is_known_server(s)) {
    case SSH_KNOWN_HOSTS_OK:
      return Status::OK();
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER:
      return Status::PermissionDenied("the host key of " + where + " has CHANGED: the server offers " + fp +
                                      ", which is not the key " + e.known_hosts +
                                      " holds for it; refusing to connect (someone may be intercepting the "
                                      "connection; if the server's key really changed, replace its line)");
    case SSH_KNOWN_HOSTS_NOT_FOUND:
    case SSH_KNOWN_HOSTS_UNKNOWN:
      return Status::PermissionDenied("the host key of " + where + " (" + fp + ") is not in " + e.known_hosts +
                                      "; refusing to connect to an unknown host (check the fingerprint "
                                      "with the server's owner, then add the key to that file)");
    case SSH_KNOWN_HOSTS_ERROR:
    default:
      return Status::PermissionDenied("cannot check the host key of " + where + " against " + e.known_hosts + ": " +
                                      ssh_get_error(s));
  }
}

Status Authenticate(ssh_session s, const SftpEndpoint& e, const SftpSecret& secret) {
  int rc = SSH_AUTH_DENIED;
  if (!secret.private_key.empty()) {
    ssh_key key = nullptr;
    if (ssh_pki_import_privkey_base64(secret.private_key.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
      return Status::InvalidArgument(secret.source + " is not a private key libssh can read "
                                     "(expected an unencrypted OpenSSH or PEM private key)");
    }
    rc = ssh_userauth_publickey(s, nullptr, key);
    ssh_key_free(key);
  } else {
    rc = ssh_userauth_password(s, nullptr, secret.password.c_str());
  }
  if (rc == SSH_AUTH_SUCCESS) return Status::OK();
  if (rc == SSH_AUTH_ERROR) return Status::Unavailable("authenticating to " + Where(e) + ": " + ssh_get_error(s));
  return Status::PermissionDenied("the server " + Where(e) + " refused the " +
                                  (secret.private_key.empty() ? "password" : "key") + " from " + secret.source +
                                  " (authentication failed)");
}

std::string SftpErrorText(sftp_session sftp, ssh_session s) {
  switch (sftp_get_error(sftp)) {
    case SSH_FX_NO_SUCH_FILE:
      return "no such file or directory";
    case SSH_FX_PERMISSION_DENIED:
      return "permission denied";
    case SSH_FX_EOF:
      return "end of file";
    default:
      return ssh_get_error(s);
  }
}

}  // namespace

SftpClient::SftpClient(std::unique_ptr<Handles> h, std::string where) : h_(std::move(h)), where_(std::move(where)) {}
SftpClient::~SftpClient() = default;

Result<std::unique_ptr<SftpClient>> SftpClient::Connect(const SftpEndpoint& e, const SftpSecret& secret) {
  auto h = std::make_unique<Handles>();
  h->session = ssh_new();
  if (!h->session) return Status::IOError("libssh: cannot create a session");
  long timeout = e.timeout_seconds;
  unsigned int port = static_cast<unsigned int>(e.port);
  int verbosity = SSH_LOG_NOLOG;
  ssh_options_set(h->session, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  ssh_options_set(h->session, SSH_OPTIONS_HOST, e.host.c_str());
  ssh_options_set(h->session, SSH_OPTIONS_PORT, &port);
  ssh_options_set(h->session, SSH_OPTIONS_USER, e.user.c_str());
  ssh_options_set(h->session, SSH_OPTIONS_TIMEOUT, &timeout);
  // Only the configured file is trusted: not ~/.ssh/known_hosts, not
  // /etc/ssh/ssh_known_hosts, and no ~/.ssh/config.
  ssh_options_set(h->session, SSH_OPTIONS_KNOWNHOSTS, e.known_hosts.c_str());
  ssh_options_set(h->session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  int no = 0;
  ssh_options_set(h->session, SSH_OPTIONS_PROCESS_CONFIG, &no);
  if (access(e.known_hosts.c_str(), R_OK) != 0) {
    return Status::InvalidArgument("known_hosts file " + e.known_hosts + ": " + std::strerror(errno) +
                                   " (host keys are always verified; create it with the server's key)");
  }
  if (ssh_connect(h->session) != SSH_OK) {
    return Status::Unavailable("cannot connect to " + Where(e) + ": " + ssh_get_error(h->session));
  }
  RETURN_IF_ERROR(VerifyHost(h->session, e));
  RETURN_IF_ERROR(Authenticate(h->session, e, secret));
  h->sftp = sftp_new(h->session);
  if (!h->sftp || sftp_init(h->sftp) != SSH_OK) {
    return Status::Unavailable("cannot start SFTP on " + Where(e) + ": " + ssh_get_error(h->session));
  }
  return std::unique_ptr<SftpClient>(new SftpClient(std::move(h), Where(e)));
}

Result<std::vector<RemoteEntry>> SftpClient::List(const std::string& dir) {
  sftp_dir d = sftp_opendir(h_->sftp, dir.c_str());
  if (!d) {
    Status s = Status::NotFound(where_ + ":" + dir + ": " + SftpErrorText(h_->sftp, h_->session));
    return ssh_is_connected(h_->session) ? s : Status::Unavailable(s.message());
  }
  std::vector<RemoteEntry> out;
  while (sftp_attributes a = sftp_readdir(h_->sftp, d)) {
    std::string name = a->name ? a->name : "";
    if (name != "." && name != "..") {
      out.push_back({name, a->size, static_cast<int64_t>(a->mtime),
                     a->type == SSH_FILEXFER_TYPE_DIRECTORY});
    }
    sftp_attributes_free(a);
  }
  bool complete = sftp_dir_eof(d);
  sftp_closedir(d);
  if (!complete) return Status::Unavailable("listing " + where_ + ":" + dir + " broke off: " + ssh_get_error(h_->session));
  return out;
}

Status SftpClient::Download(Fs& fs, const std::string& remote, uint64_t size, const std::string& local,
                            const std::function<void(uint64_t)>& progress, const std::atomic<bool>* cancelled) {
  auto opened = fs.OpenAt(AT_FDCWD, local, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (!opened.ok()) return Status::IOError("cannot open " + local + ": " + opened.status().message());
  UniqueFd out = std::move(opened).value();
  struct stat st;
  if (fstat(out.get(), &st) != 0) {
    return Status::IOError("cannot open " + local + ": " + std::strerror(errno));
  }
  uint64_t offset = static_cast<uint64_t>(st.st_size);
  if (offset > size) return Status::Corruption(local + " is longer than " + remote + "; it will be fetched again");
  sftp_file f = sftp_open(h_->sftp, remote.c_str(), O_RDONLY, 0);
  if (!f) {
    return Status::Unavailable("cannot open " + where_ + ":" + remote + ": " + SftpErrorText(h_->sftp, h_->session));
  }
  std::unique_ptr<sftp_file_struct, int (*)(sftp_file)> file(f, sftp_close);
  if (sftp_seek64(f, offset) != 0) return Status::Unavailable("cannot seek in " + remote);

  // Requests kept in flight so the round trip is not paid per chunk.
  constexpr uint32_t kChunk = 32 * 1024;
  constexpr size_t kInFlight = 32;
  std::deque<std::pair<int, uint32_t>> pending;  // request id, length
  uint64_t requested = offset;
  std::vector<char> buf(kChunk);
  Status failure;
  if (progress) progress(offset);
  while (offset < size) {
    while (pending.size() < kInFlight && requested < size) {
      uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(kChunk, size - requested));
      int id = sftp_async_read_begin(f, len);
      if (id < 0) {
        failure = Status::Unavailable("reading " + remote + ": " + ssh_get_error(h_->session));
        break;
      }
      pending.emplace_back(id, len);
      requested += len;
    }
    if (!failure.ok() || pending.empty()) break;
    auto [id, len] = pending.front();
    pending.pop_front();
    int n = sftp_async_read(f, buf.data(), len, static_cast<uint32_t>(id));
    if (n < 0) {
      failure = Status::Unavailable("reading " + where_ + ":" + remote + " at byte " + std::to_string(offset) +
                                    ": " + ssh_get_error(h_->session));
      break;
    }
    if (n == 0) {
      failure = Status::Corruption(where_ + ":" + remote + " ended at byte " + std::to_string(offset) +
                                   " of the " + std::to_string(size) + " it was listed with");
      break;
    }
    if (::write(out.get(), buf.data(), static_cast<size_t>(n)) != n) {
      failure = Status::IOError("cannot write " + local + ": " + std::strerror(errno));
      break;
    }
    offset += static_cast<uint64_t>(n);
    if (static_cast<uint32_t>(n) < len && offset < size) {
      // A short read: the requests behind it ask for the wrong offsets.
      // Collect them, then ask again from here.
      for (auto& [pid, plen] : pending) sftp_async_read(f, buf.data(), plen, static_cast<uint32_t>(pid));
      pending.clear();
      sftp_seek64(f, offset);
      requested = offset;
    }
    if (progress) progress(offset);
    if (cancelled && cancelled->load()) {
      failure = Status::Cancelled("download of " + remote + " stopped at byte " + std::to_string(offset));
      break;
    }
  }
  // Every request sent must be read, or libssh keeps its answer.
  if (ssh_is_connected(h_->session)) {
    for (auto& [pid, plen] : pending) sftp_async_read(f, buf.data(), plen, static_cast<uint32_t>(pid));
  }
  if (::fsync(out.get()) != 0 && failure.ok()) failure = Status::IOError("cannot fsync " + local);
  return failure;
}

}  // namespace bucketd::stages
