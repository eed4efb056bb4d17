// Latency against the peers (issue 12), all in one run on the same machine:
// a file renamed into a watched directory -> the started program's first
// instruction writes a timestamp (tests/runner/probe_target.cc, MODE=stamp).
//
//   peers_bench [--dir DIR] [--trials N] [--also-bucketd BIN_DIR]
//
// Peers, each watching a directory of its own under --dir (default
// /var/tmp/bucketd-peers-bench, on disk: the fsyncs are part of it):
//   bucketd      an exec target through the whole path (event plane, trail
//                fsync, rule, queue, supervisor);
//   watchman     Debian's watchman, a trigger with settle 1 ms;
//   inotifywait  `inotifywait -m | while read f; do probe; done`;
//   incron       Debian's incrond with a table of its own, in the foreground;
//   floor        raw inotify + one fdatasync + posix_spawn, the durable floor;
//   --also-bucketd  a second bucketd (bucketd, bucketctl and
//                bucketd-supervisor from BIN_DIR: another build) in the same
//                round-robin, for a before/after pair on the same machine.
// Trials go round-robin over the peers (--trials each, default 200), so all
// see the same machine at the same time. A peer that cannot start here is
// reported as missing, not measured.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_check.h"
#include "bench/run_probe.h"

using bucketd::bench::Check;
extern char** environ;

namespace {

using bucketd::bench::BinDir;
using bucketd::bench::RealtimeNs;



void Sh(const std::string& cmd) { Check(std::system(cmd.c_str()) == 0, "failed: " + cmd); }

void WriteText(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  Check(f != nullptr, "write " + path);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

// Starts `cmd` with /bin/sh in its own process group; returns the pid.
pid_t Background(const std::string& cmd) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  std::string c = cmd;
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, c.data(), nullptr};
  pid_t pid;
  Check(posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, environ) == 0, "start: " + cmd);
  posix_spawnattr_destroy(&attr);
  return pid;
}

void StopGroup(pid_t pid) {
  ::kill(-pid, SIGTERM);
  int st;
  ::waitpid(pid, &st, 0);
}

struct Peer {
  std::string name;
  std::string dir;     // the watched directory: files are renamed into it
  std::string prefix;  // what the stamp's name starts with (before the file's name)
  bool ok = false;
  std::string why;     // when it could not start
  std::vector<double> ms;
};

bool Works(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// A bucketd from `bin` with a store and config under `base` whose rule runs
// the probe for every key under data/lat/.
Peer StartBucketd(const std::string& name, const std::string& bin, const std::string& base, const std::string& probe,
                  const std::string& out, std::vector<pid_t>* started) {
  Peer p{name, base + "/root/buckets/data/lat", "lat_", false, "", {}};
  std::string cfg = base + "/cfg";
  Sh("mkdir -p " + cfg + "/rules.d " + cfg + "/functions.d");
  bucketd::bench::WriteStampConfig(cfg, probe, out);
  Sh(bin + "/bucketctl --root " + base + "/root mb s3://data >/dev/null");
  ::mkdir(p.dir.c_str(), 0755);
  started->push_back(Background("exec " + bin + "/bucketd --root " + base + "/root --config-dir " + cfg + " 2>" +
                                base + "/bucketd.log"));
  p.ok = true;
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/var/tmp/bucketd-peers-bench";
  int trials = 200;
  std::string also_bin;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--also-bucketd") also_bin = argv[i + 1];
    else if (a == "--trials") trials = std::atoi(argv[i + 1]);
    else Check(false, "unknown flag " + a);
  }
  std::string probe = BinDir() + "/runner_probe";
  Check(::access(probe.c_str(), X_OK) == 0, probe + " is missing (build the tests too)");
  Sh("rm -rf '" + dir + "' && mkdir -p '" + dir + "'");
  std::string out = dir + "/out", incoming = dir + "/incoming";
  for (const auto& d : {out, incoming}) ::mkdir(d.c_str(), 0755);
  // Every peer's program learns where to write from its environment.
  ::setenv("MODE", "stamp", 1);
  ::setenv("OUT", out.c_str(), 1);

  std::vector<Peer> peers;
  std::vector<pid_t> started;

  // bucketd: the file lands under data/lat/; its key is the target's input.
  peers.push_back(StartBucketd("bucketd", BinDir(), dir + "/bucketd", probe, out, &started));
  if (!also_bin.empty()) {
    // Another build of bucketd (say, the last landed main) in the same
    // round-robin: a before/after pair that sees the same machine.
    peers.push_back(StartBucketd("bucketd (" + also_bin + ")", also_bin, dir + "/bucketd-also", probe, out, &started));
  }
  // watchman: its own socket and state, a trigger with settle 1 ms.
  {
    Peer p{"watchman settle 1", dir + "/watchman/root", "", false, "", {}};
    std::string base = dir + "/watchman";
    Sh("mkdir -p " + p.dir);
    WriteText(p.dir + "/.watchmanconfig", R"({"settle": 1})");
    std::string wm = "watchman --sockname=" + base + "/sock --statefile=" + base + "/state --logfile=" + base +
                     "/log --pidfile=" + base + "/pid --no-save-state";
    if (::access("/usr/bin/watchman", X_OK) != 0) {
      p.why = "watchman is not installed (Debian package watchman)";
    } else {
      started.push_back(Background("exec " + wm + " --foreground"));
      bool up = false;
      for (int i = 0; i < 100 && !(up = Works(wm + " get-sockname")); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      std::string trigger = "[\"trigger\", \"" + p.dir +
                            "\", {\"name\": \"lat\", \"expression\": [\"allof\", [\"type\", \"f\"], [\"exists\"], "
                            "[\"not\", [\"name\", \".watchmanconfig\"]]], \"command\": [\"" +
                            probe + "\"], \"stdin\": \"NAME_PER_LINE\"}]";
      WriteText(base + "/trigger.json", trigger);
      p.ok = up && Works(wm + " watch " + p.dir) && Works(wm + " -j < " + base + "/trigger.json");
      if (!p.ok) p.why = "watchman did not start or take the trigger (see " + base + "/log)";
    }
    peers.push_back(p);
  }
  // inotifywait -m and a shell loop, as a user would write it.
  {
    Peer p{"inotifywait loop", dir + "/inotifywait", "", false, "", {}};
    ::mkdir(p.dir.c_str(), 0755);
    if (::access("/usr/bin/inotifywait", X_OK) != 0) {
      p.why = "inotifywait is not installed (Debian package inotify-tools)";
    } else {
      started.push_back(Background("inotifywait -q -m -e moved_to --format %f " + p.dir +
                                   " | while read f; do echo \"$f\" | " + probe + "; done"));
      p.ok = true;
    }
    peers.push_back(p);
  }
  // incron: incrond in the foreground with a system table of its own.
  {
    Peer p{"incron", dir + "/incron/watched", "", false, "", {}};
    std::string base = dir + "/incron";
    Sh("mkdir -p " + p.dir + " " + base + "/systables " + base + "/usertables");
    WriteText(base + "/incron.conf", "system_table_dir = " + base + "/systables\nuser_table_dir = " + base +
                                         "/usertables\nlockfile_dir = " + base + "\nlockfile_name = incron.lock\n");
    WriteText(base + "/systables/lat", p.dir + " IN_MOVED_TO echo $# | " + probe + "\n");
    if (::access("/usr/sbin/incrond", X_OK) != 0) {
      p.why = "incrond is not installed (Debian package incron)";
    } else {
      started.push_back(Background("exec /usr/sbin/incrond -n -f " + base + "/incron.conf 2>" + base + "/log"));
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      p.ok = true;
    }
    peers.push_back(p);
  }
  // The durable floor.
  std::atomic<bool> stop{false};
  Peer floor_peer{"floor: inotify + fdatasync + posix_spawn", dir + "/floor", "", true, "", {}};
  ::mkdir(floor_peer.dir.c_str(), 0755);
  std::thread floor([&] { bucketd::bench::FloorLoop(floor_peer.dir, dir + "/floor.log", probe, out, "", &stop); });
  peers.push_back(floor_peer);
  std::this_thread::sleep_for(std::chrono::seconds(1));

  // A first trial each, not counted: a peer that does not answer here is
  // reported as missing rather than holding up the run.
  for (auto& p : peers) {
    if (!p.ok) continue;
    std::string name = "warm-" + std::to_string(&p - peers.data());
    WriteText(incoming + "/" + name, "sample\n");
    Check(::rename((incoming + "/" + name).c_str(), (p.dir + "/" + name).c_str()) == 0, "rename");
    if (bucketd::bench::WaitStamp(out + "/" + p.prefix + name + ".stamp", 10000) == 0) {
      p.ok = false;
      p.why = "no stamp within 10 s of the first file";
    }
  }
  for (int i = 0; i < trials; ++i) {
    for (size_t k = 0; k < peers.size(); ++k) {
      Peer& p = peers[k];
      if (!p.ok) continue;
      std::string name = "p" + std::to_string(k) + "-" + std::to_string(i);
      WriteText(incoming + "/" + name, "sample\n");
      int64_t t0 = RealtimeNs();
      Check(::rename((incoming + "/" + name).c_str(), (p.dir + "/" + name).c_str()) == 0, "rename");
      int64_t t1 = bucketd::bench::WaitStamp(out + "/" + p.prefix + name + ".stamp", 10000);
      Check(t1 != 0, p.name + ": no stamp for " + name);
      p.ms.push_back(static_cast<double>(t1 - t0) / 1e6);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  stop = true;
  floor.join();
  for (pid_t pid : started) StopGroup(pid);

  std::printf("rename into a watched directory -> the started program's first instruction, %d trials each, "
              "round-robin:\n", trials);
  double floor_p99 = 0, watchman_p99 = 0, bucketd_p99 = 0;
  for (auto& p : peers) {
    if (!p.ok) {
      std::printf("  %-42s not measured: %s\n", p.name.c_str(), p.why.c_str());
      continue;
    }
    std::sort(p.ms.begin(), p.ms.end());
    auto at = [&](double q) { return p.ms[std::min(p.ms.size() - 1, static_cast<size_t>(q * p.ms.size()))]; };
    std::printf("  %-42s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n", p.name.c_str(), at(0.5), at(0.99),
                p.ms.back());
    if (p.name.rfind("floor", 0) == 0) floor_p99 = at(0.99);
    if (p.name.rfind("watchman", 0) == 0) watchman_p99 = at(0.99);
    if (p.name == "bucketd") bucketd_p99 = at(0.99);
  }
  if (floor_p99 > 0) std::printf("  bucketd p99 / floor p99: %.2f (goal <= 1.2)\n", bucketd_p99 / floor_p99);
  if (watchman_p99 > 0) std::printf("  bucketd p99 / watchman p99: %.2f (goal <= 1.0)\n", bucketd_p99 / watchman_p99);
  return 0;
}
