// Clients that break the control socket's rules, against a running bucketd
// (issue 12, items 5 and 7), and the one control channel: redrive and
// replay are carried out by a running bucketd only.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "tests/integration/pipeline_daemon.h"

namespace bucketd {
namespace {

using testing::PipelineDaemon;

// One connection: sends `request` and a newline, reads one answer line.
std::string Ask(const std::string& path, const std::string& request) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::string line = request + "\n";
  (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  while (out.find('\n') == std::string::npos) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out.substr(0, out.find('\n'));
}

std::string Refusal(const std::string& error) {
  return nlohmann::json{{"ok", false}, {"error", error}}.dump();
}

// Every one of these aborted bucketd with an uncaught nlohmann::type_error.
TEST(ControlFaultsTest, EveryFieldOfTheWrongTypeGetsAnErrorNamingItAndTheDaemonGoesOn) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("etl", "LOGS/", "Etl");
  d.AddProbeFunction("Etl", "record");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  std::string sock = d.root() + "/.bucketd/control.sock";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"command":12})", "command: expected a string"},
      {R"({"command":null})", "command: expected a string"},
      {R"({"command":true})", "command: expected a string"},
      {R"({"command":["status"]})", "command: expected a string"},
      {R"({"command":"runs","limit":"x"})", "limit: expected an integer"},
      {R"({"command":"runs","since_ns":"yesterday"})", "since_ns: expected an integer"},
      {R"({"command":"runs","rule":5})", "rule: expected a string"},
      {R"({"command":"runs","state":{}})", "state: expected a string"},
      {R"({"command":"runs","id":[]})", "id: expected a string"},
      {R"({"command":"run","id":5})", "id: expected a string"},
      {R"({"command":"redrive","ids":"notalist"})", "ids: expected a list of strings"},
      {R"({"command":"redrive","ids":[1,2]})", "ids: expected a list of strings"},
      {R"({"command":"redrive","ids":null})", "ids: expected a list of strings"},
      {R"({"command":"replay","rule":7})", "rule: expected a string"},
      {R"({"command":"replay","rule":"etl","from_ns":"a"})", "from_ns: expected an integer"},
      {R"({"command":"replay","rule":"etl","from_ns":0,"to_ns":1,"name":5})", "name: expected a string"},
      {R"({"command":"runs","limit":1.5})", "limit: expected an integer"},
      {R"({"command":"replay","rule":"etl","to_ns":{}})", "to_ns: expected an integer"},
  };
  for (const auto& [request, error] : cases) {
    EXPECT_EQ(Ask(sock, request), Refusal(error)) << request;
  }
  EXPECT_EQ(d.Ctl({"status"}).exit_code, 0) << "bucketd went on answering\n" << d.Log();
  EXPECT_EQ(d.Stop(), 0) << d.Log();
}

// The group check read /proc/<pid>/status, which bucketd cannot see under
// the unit's ProtectProc=invisible: a supplementary member was refused.
TEST(ControlFaultsTest, ASupplementaryMemberOfTheGroupIsLetInWhenProcHidesOtherUsers) {
  if (::geteuid() != 0) GTEST_FAIL() << "needs root: a private /proc (hidepid) and other users";
  testing::TempDir tmp;
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
  std::string script = R"SH(
set -eu
T=$1; BIN=$2
mount -t proc -o hidepid=invisible proc /proc
cp /etc/group "$T/group"
echo "bucketd:x:64999:" >> "$T/group"
mount --bind "$T/group" /etc/group
mkdir -p "$T/root" "$T/state"
chown 65533:65533 "$T/root" "$T/state"
setpriv --reuid=65533 --regid=65533 --clear-groups "$BIN/bucketd" --root "$T/root" --state-dir "$T/state" \
  --socket "$T/state/control.sock" 2>"$T/bucketd.log" &
pid=$!
for i in $(seq 1 200); do [ -S "$T/state/control.sock" ] && break; sleep 0.05; done
chmod 0755 "$T/state"; chmod 0666 "$T/state/control.sock"
# bucketd, as uid 65533, cannot see the client's /proc entry:
if setpriv --reuid=65533 --regid=65533 --clear-groups cat /proc/$$/status >/dev/null 2>&1; then
  echo "PROC-VISIBLE"
fi
echo "MEMBER:"
setpriv --reuid=65532 --regid=65532 --groups=64999 "$BIN/bucketctl" --socket "$T/state/control.sock" status 2>&1 || true
echo "OTHER:"
setpriv --reuid=65532 --regid=65532 --clear-groups "$BIN/bucketctl" --socket "$T/state/control.sock" status 2>&1 || true
kill -TERM $pid; wait $pid || true
)SH";
  testing::WriteFile(tmp / "run.sh", script);
  auto r = testing::Run({"/usr/bin/unshare", "--mount", "--pid", "--fork", "/bin/sh", tmp / "run.sh",
                         tmp.path(), testing::BinDir()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << testing::ReadFile(tmp / "bucketd.log");
  EXPECT_EQ(r.out.find("PROC-VISIBLE"), std::string::npos) << "the test's /proc does not hide other users";
  size_t member = r.out.find("MEMBER:\n"), other = r.out.find("OTHER:\n");
  ASSERT_NE(member, std::string::npos) << r.out;
  ASSERT_NE(other, std::string::npos) << r.out;
  std::string member_out = r.out.substr(member + 8, other - member - 8);
  std::string other_out = r.out.substr(other + 7);
  EXPECT_EQ(member_out.rfind("watching ", 0), 0u) << member_out << testing::ReadFile(tmp / "bucketd.log");
  EXPECT_NE(other_out.find("permission denied: uid 65532 is neither root nor in the group bucketd"),
            std::string::npos)
      << other_out;
}

TEST(ControlFaultsTest, RedriveAndReplayWithoutARunningBucketdSayItIsNotRunningAndChangeNothing) {
  testing::TempDir tmp;
  PipelineDaemon d(tmp.path());
  d.AddRule("etl", "LOGS/", "Etl");
  d.AddProbeFunction("Etl", "record");
  ASSERT_EQ(d.Ctl({"mb", "s3://data"}).exit_code, 0);
  d.Start();
  ASSERT_TRUE(d.WaitReady()) << d.Log();
  EXPECT_EQ(d.Stop(), 0);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"dlq", "redrive"},
        std::vector<std::string>{"replay", "--rule", "etl", "--from", "1h"}}) {
    auto r = d.Ctl(args);
    EXPECT_EQ(r.exit_code, 1) << args[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("bucketd is not running"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  // --wait gives a bucketd that is starting the time to answer.
  int pid = testing::Spawn({"/bin/sh", "-c", "sleep 1; exec " + testing::BinDir() + "/bucketd --root " +
                                                 d.root() + " --config-dir " + d.cfg() + " 2>/dev/null"});
  auto waited = d.Ctl({"replay", "--rule", "etl", "--from", "1h", "--wait", "20"});
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_NE(waited.out.find("record(s) in the window"), std::string::npos) << waited.out;
  ::kill(pid, SIGTERM);
  EXPECT_EQ(testing::Wait(pid), 0);
}

}  // namespace
}  // namespace bucketd
