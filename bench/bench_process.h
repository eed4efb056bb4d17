// Starting and stopping the programs a bench races (bucketd, its peers).
#ifndef BUCKETD_BENCH_BENCH_PROCESS_H_
#define BUCKETD_BENCH_BENCH_PROCESS_H_

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_check.h"

namespace bucketd::bench {

// A loopback port nobody listens on now.
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Check(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "bind a free port");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Runs `argv` with its stdout and stderr in `log`.
inline pid_t Start(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    std::freopen(log.c_str(), "a", stdout);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// An access key of a new user "bench" with AdministratorAccess, made with
// `ctl` (a bucketctl command line with its --config-dir).
struct AccessKey {
  std::string id, secret;
};
inline AccessKey CreateAdminKey(const std::string& ctl) {
  Output(ctl + " iam create-user --user-name bench");
  Output(ctl + " iam attach-user-policy --user-name bench --policy-arn arn:aws:iam::aws:policy/AdministratorAccess");
  std::string key = Output(ctl + " iam create-access-key --user-name bench");
  auto field = [&](const std::string& name) {
    size_t at = key.find("\"" + name + "\"");
    size_t q1 = key.find('"', key.find(':', at) + 1);
    return key.substr(q1 + 1, key.find('"', q1 + 1) - q1 - 1);
  };
  return {field("AccessKeyId"), field("SecretAccessKey")};
}

inline void Stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace bucketd::bench

#endif  // BUCKETD_BENCH_BENCH_PROCESS_H_
