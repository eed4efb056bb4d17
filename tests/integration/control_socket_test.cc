// bucketd's control socket: bucketctl status and reload over it; malformed,
// oversized and unauthorised requests get error replies and the daemon goes on.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tests/integration/pipeline_daemon.h"

namespace bucketd {
namespace {

using testing::PipelineDaemon;

// Sends raw bytes, then half-closes; returns what came back.
std::string Raw(const std::string& path, const std::string& bytes) {
  int fd = testing::ConnectUnix(path);
  if (fd < 0) return "connect failed";
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(ControlSocketTest, StatusReloadAndBadRequestsGetAnswersAndTheDaemonGoesOn) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("etl", "LOGS/", "Etl");
  d.AddProbeFunction("Etl", "record");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  std::string sock = d.root() + "/.bucketd/control.sock";
  struct stat st;
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  auto status = d.Ctl({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out.rfind("watching ", 0), 0u) << status.out;
  auto json = d.Ctl({"status", "--json"});
  EXPECT_NE(json.out.find("\"rules\":1"), std::string::npos) << json.out;

  EXPECT_EQ(Raw(sock, "not json\n"), "{\"error\":\"a request is one JSON object on one line\",\"ok\":false}\n");
  EXPECT_EQ(Raw(sock, "{\"command\":\"dance\"}\n").find("unknown command 'dance'") != std::string::npos, true);
  std::string big(70 << 10, 'x');
  EXPECT_EQ(Raw(sock, big), "{\"error\":\"request too large (the limit is 64 KiB)\",\"ok\":false}\n");
  // Someone else: the socket file (0660) keeps them out; given a way in, the
  // daemon refuses them by their credentials.
  auto nobody = testing::Run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              testing::BinDir() + "/bucketctl", "--socket", sock, "status"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.err.find("permission denied"), std::string::npos) << nobody.err;
  ::chmod(sock.c_str(), 0666);
  ::chmod(tmp.path().c_str(), 0755);
  ::chmod(d.root().c_str(), 0755);
  ::chmod((d.root() + "/.bucketd").c_str(), 0755);
  nobody = testing::Run({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                         testing::BinDir() + "/bucketctl", "--socket", sock, "status"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_NE(nobody.err.find("permission denied: uid 65534 is neither root nor in the group bucketd"), std::string::npos)
      << nobody.err;

  testing::WriteFile(d.cfg() + "/rules.d/zz.json", "[");
  auto reload = d.Ctl({"reload"});
  EXPECT_EQ(reload.exit_code, 1);
  EXPECT_NE(reload.err.find(d.cfg() + "/rules.d/zz.json"), std::string::npos) << reload.err;
  ::unlink((d.cfg() + "/rules.d/zz.json").c_str());
  EXPECT_EQ(d.Ctl({"reload"}).out, "reloaded\n");
  EXPECT_EQ(d.Ctl({"status"}).exit_code, 0) << "the daemon went on";
  EXPECT_EQ(d.Stop(), 0);
  EXPECT_NE(::stat(sock.c_str(), &st), 0) << "the socket is removed at exit";
}

}  // namespace
}  // namespace bucketd
