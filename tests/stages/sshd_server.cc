#include "tests/stages/sshd_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/test_util.h"

namespace bucketd::testing {
namespace {

int FreePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

bool Accepts(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

}  // namespace

void SshdServer::MakeKey(const std::string& path) {
  ::unlink(path.c_str());
  ::unlink((path + ".pub").c_str());
  Run({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bucketd-test", "-f", path});
}

SshdServer::SshdServer(std::string dir) : dir_(std::move(dir)) {
  passwd* pw = ::getpwuid(::geteuid());
  user_ = pw ? pw->pw_name : "root";
  port_ = FreePort();
  MakeKey(dir_ + "/host_key");
  MakeKey(client_key());
  WriteFile(dir_ + "/authorized_keys", ReadFile(client_key() + ".pub"));
  WriteFile(dir_ + "/sshd_config",
            "Port " + std::to_string(port_) + "\nListenAddress 127.0.0.1\nHostKey " + dir_ +
                "/host_key\nPidFile " + dir_ + "/sshd.pid\nAuthorizedKeysFile " + dir_ +
                "/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nAllowUsers " +
                user_ + "\nSubsystem sftp internal-sftp\nForceCommand internal-sftp\nLogLevel ERROR\n");
}

SshdServer::~SshdServer() { Stop(); }

bool SshdServer::Start() {
  // sshd insists on its privilege separation directory.
  if (::geteuid() == 0) ::mkdir("/run/sshd", 0755);
  // Its log (including the readiness probe's dropped connection) goes to a
  // file beside its config.
  pid_ = Spawn({"/bin/sh", "-c", "exec /usr/sbin/sshd -D -e -f " + dir_ + "/sshd_config 2>>" + dir_ + "/sshd.log"});
  for (int i = 0; i < 500; ++i) {
    if (Accepts(port_)) return true;
    if (::kill(pid_, 0) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  error_ = "sshd did not start listening on 127.0.0.1:" + std::to_string(port_) + ": " + ReadFile(dir_ + "/sshd.log");
  return false;
}

void SshdServer::Stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    Wait(pid_);
    pid_ = -1;
  }
}

std::string SshdServer::KnownHostsLine() const {
  return "[127.0.0.1]:" + std::to_string(port_) + " " + ReadFile(dir_ + "/host_key.pub");
}

std::string SshdServer::HostFingerprint() const {
  auto r = Run({"/usr/bin/ssh-keygen", "-l", "-f", dir_ + "/host_key.pub"});
  size_t start = r.out.find("SHA256:");
  return start == std::string::npos ? "?" : r.out.substr(start, r.out.find(' ', start) - start);
}

}  // namespace bucketd::testing
