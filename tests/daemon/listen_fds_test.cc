// Which socket systemd passed is which: by name, else by kind, so that
// today's single unnamed Unix socket stays the control socket.
#include "daemon/listen_fds.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

#include "tests/test_util.h"

namespace bucketd::daemon {
namespace {

class ListenFdsTest : public ::testing::Test {
 protected:
  int UnixListener() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string path = tmp_.path() + "/s" + std::to_string(fds_.size());
    std::strcpy(a.sun_path, path.c_str());
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd, 1), 0);
    fds_.push_back(fd);
    return fd;
  }
  int TcpListener() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd, 1), 0);
    fds_.push_back(fd);
    return fd;
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
  }
  testing::TempDir tmp_;
  std::vector<int> fds_;
};

TEST_F(ListenFdsTest, OneUnnamedUnixSocketIsTheControlSocket) {
  int u = UnixListener();
  auto r = ClassifyListenFds({u}, {"bucketd"});  // systemd names it after the unit
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->control, u);
  EXPECT_EQ(r->api, -1);
  EXPECT_EQ(ClassifyListenFds({}, {})->control, -1);
}

TEST_F(ListenFdsTest, NamesChooseAndKindsFillIn) {
  int u = UnixListener(), t = TcpListener();
  auto named = ClassifyListenFds({t, u}, {"api", "control"});
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->api, t);
  EXPECT_EQ(named->control, u);
  auto by_kind = ClassifyListenFds({u, t}, {"unknown", "unknown"});
  ASSERT_TRUE(by_kind.ok()) << by_kind.status().ToString();
  EXPECT_EQ(by_kind->api, t);
  EXPECT_EQ(by_kind->control, u);
}

TEST_F(ListenFdsTest, AmbiguousOrWrongSocketsAreClearErrors) {
  int u1 = UnixListener(), u2 = UnixListener(), t = TcpListener();
  auto two = ClassifyListenFds({u1, u2}, {"a", "b"});
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("two sockets for the control socket (the second is 'b')"), std::string::npos)
      << two.status().message();
  auto wrong = ClassifyListenFds({u1}, {"api"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("'api' is not a listening TCP socket"), std::string::npos);
  int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  fds_.push_back(udp);
  auto odd = ClassifyListenFds({t, udp}, {"x", "y"});
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("socket 1 ('y') is neither"), std::string::npos) << odd.status().message();
}

}  // namespace
}  // namespace bucketd::daemon
