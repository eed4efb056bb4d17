// Lambda runtimes' speed (issue 15), all in one run on the same machine:
//
//  latency     a file renamed into a watched bucket folder -> the first line
//              of what it runs, round-robin over
//                exec    today's exec target path (runner_probe MODE=stamp),
//                python  a warm python3 function (its handler's first line
//                        writes the stamp),
//                floor   inotify + one fdatasync + posix_spawn of the probe;
//  cold start  `Invoke` round trip (RequestResponse, through the endpoint) of
//              a python function on a fresh environment (after
//              update-function-code) and on a warm one, and REPORT's Init
//              Duration;
//  throughput  N asynchronous invocations (Invoke with InvocationType Event
//              through the endpoint, durable before the 202) of a no-op
//              python handler with ReservedConcurrentExecutions 2, from
//              --clients keep-alive clients: accepted per second, and run
//              per second until the last succeeded; the peer is the disk's
//              fdatasync rate in the same run (one commit per invocation).
//
// Usage: lambda_bench [--dir /var/tmp/bucketd-lambda-bench] [--trials 200]
//                     [--cold 10] [--events 5000] [--clients 8]
#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_check.h"
#include "bench/bench_process.h"
#include "bench/run_probe.h"

namespace bucketd::bench {
namespace {

using Steady = std::chrono::steady_clock;

double Since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

void WriteText(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  Check(f != nullptr, "write " + path);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

// Lambda's Invoke over one keep-alive connection, signed by libcurl's SigV4.
class Invoker {
 public:
  Invoker(const std::string& base, const std::string& key_id, const std::string& secret)
      : base_(base), userpwd_(key_id + ":" + secret) {
    curl_ = curl_easy_init();
    curl_easy_setopt(curl_, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:lambda");
    curl_easy_setopt(curl_, CURLOPT_USERPWD, userpwd_.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Invoker::Sink);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
  }
  ~Invoker() {
    for (curl_slist* h : {event_, sync_}) curl_slist_free_all(h);
    curl_easy_cleanup(curl_);
  }
  // The HTTP status; body() is the answer.
  long Invoke(const std::string& function, const std::string& payload, bool event) {
    std::string url = base_ + "/2015-03-31/functions/" + function + "/invocations";
    body_.clear();
    curl_slist*& headers = event ? event_ : sync_;
    if (headers == nullptr) {
      headers = curl_slist_append(nullptr, event ? "X-Amz-Invocation-Type: Event"
                                                 : "X-Amz-Invocation-Type: RequestResponse");
      headers = curl_slist_append(headers, "Content-Type: application/json");
    }
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
    CURLcode rc = curl_easy_perform(curl_);
    Check(rc == CURLE_OK, url + ": " + curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
  const std::string& body() const { return body_; }

 private:
  static size_t Sink(char* p, size_t size, size_t n, void* self) {
    static_cast<Invoker*>(self)->body_.append(p, size * n);
    return size * n;
  }
  std::string base_, userpwd_, body_;
  CURL* curl_ = nullptr;
  curl_slist* event_ = nullptr;
  curl_slist* sync_ = nullptr;
};

struct Quantiles {
  double p50 = 0, p99 = 0, max = 0;
};
Quantiles Of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  return {at(0.5), at(0.99), v.back()};
}

// The "succeeded" count bucketd's status gives.
long Succeeded(const std::string& ctl) {
  std::string s = Output(ctl + " status --json");
  size_t at = s.find("\"succeeded\":");
  Check(at != std::string::npos, "no succeeded count in: " + s);
  return std::atol(s.c_str() + at + 12);
}

// fdatasync of a small append per operation, for `seconds`: per second.
double FdatasyncRate(const std::string& path, double seconds) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  Check(fd >= 0, "open " + path);
  long n = 0;
  auto start = Steady::now();
  while (Since(start) < seconds) {
    (void)!::write(fd, "record\n", 7);
    ::fdatasync(fd);
    ++n;
  }
  ::close(fd);
  return n / Since(start);
}

}  // namespace
}  // namespace bucketd::bench

int main(int argc, char** argv) {
  using namespace bucketd::bench;
  std::string dir = "/var/tmp/bucketd-lambda-bench";
  int trials = 200, cold = 10, events = 5000, clients = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--dir") dir = v;
    else if (f == "--trials") trials = std::stoi(v);
    else if (f == "--cold") cold = std::stoi(v);
    else if (f == "--events") events = std::stoi(v);
    else if (f == "--clients") clients = std::stoi(v);
    else Check(false, "unknown flag " + f);
  }
  Check(trials > 0 && cold > 0 && events > 0 && clients > 0, "--trials, --cold, --events and --clients: at least 1");
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_ALL);
  std::string bin = BinDir(), probe = bin + "/runner_probe";
  Check(::access(probe.c_str(), X_OK) == 0, probe + " is missing (build the tests too)");
  std::string root = dir + "/root", cfg = dir + "/cfg", out = dir + "/out", code = dir + "/code";
  Output("rm -rf '" + dir + "' && mkdir -p '" + root + "' '" + cfg + "/rules.d' '" + cfg + "/functions.d' '" + out +
         "' '" + code + "' '" + dir + "/incoming' '" + dir + "/floor'");
  std::string ctl = bin + "/bucketctl --root " + root + " --config-dir " + cfg;
  AccessKey admin = CreateAdminKey(ctl);
  Output(ctl + " mb s3://data");

  // The handlers: a stamp at the handler's first line, a no-op, and one
  // that answers at once (cold starts).
  WriteText(code + "/stamp.py", "import time\n"
                                "def handler(event, context):\n"
                                "    t = time.time_ns()\n"
                                "    name = event['detail']['object']['key'].replace('/', '_')\n"
                                "    with open('" + out + "/' + name + '.stamp', 'w') as f:\n"
                                "        f.write(str(t))\n");
  WriteText(code + "/noop.py", "def handler(event, context):\n    return None\n");
  auto python = [&](const std::string& name, const std::string& handler, const std::string& extra) {
    WriteText(cfg + "/functions.d/" + name + ".json",
              R"({"FunctionName":")" + name + R"(","Runtime":"python3.11","Handler":")" + handler +
                  R"(","Code":{"Directory":")" + code + R"("},"Timeout":30,"MemorySize":512)" + extra + "}");
  };
  python("PyStamp", "stamp.handler", "");
  python("Noop", "noop.handler", R"(,"ReservedConcurrentExecutions":2,"MaximumRetryAttempts":0)");
  python("Cold", "noop.handler", "");
  WriteText(cfg + "/functions.d/Stamp.json",
            R"({"FunctionName":"Stamp","Runtime":"exec","Handler":")" + probe +
                R"(","Timeout":30,"Environment":{"Variables":{"MODE":"stamp","OUT":")" + out + R"("}}})");
  auto rule = [&](const std::string& name, const std::string& prefix, const std::string& function,
                  const std::string& input) {
    WriteText(cfg + "/rules.d/" + name + ".json",
              R"({"Name":")" + name + R"(","EventPattern":{"source":["aws.s3"],"detail-type":["Object Created"],)"
              R"("detail":{"object":{"key":[{"prefix":")" + prefix + R"("}]}}},"Targets":[{"Id":"t",)"
              R"("Arn":"arn:aws:lambda:local:000000000000:function:)" + function + "\"" + input + "}]}");
  };
  rule("exec", "lat/", "Stamp", R"(,"InputTransformer":{"InputPathsMap":{"k":"$.detail.object.key"},"InputTemplate":"<k>"})");
  rule("python", "py/", "PyStamp", "");
  for (const char* d : {"/buckets/data/lat", "/buckets/data/py"}) ::mkdir((root + d).c_str(), 0755);

  int port = FreePort();
  pid_t bucketd = Start({bin + "/bucketd", "--root", root, "--config-dir", cfg, "--api-listen",
                         "127.0.0.1:" + std::to_string(port)},
                        dir + "/bucketd.log");
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  Invoker one(base, admin.id, admin.secret);
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    CURL* c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, (base + "/").c_str());
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    up = curl_easy_perform(c) == CURLE_OK;
    curl_easy_cleanup(c);
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Check(up, "bucketd did not start (see " + dir + "/bucketd.log)");

  // Latency: exec, warm python and the floor, round-robin.
  std::atomic<bool> stop{false};
  std::thread floor([&] { FloorLoop(dir + "/floor", dir + "/floor.log", probe, out, "", &stop); });
  struct Peer {
    std::string name, dir, prefix;
    std::vector<double> ms;
  };
  std::vector<Peer> peers = {{"exec target (today's path)", root + "/buckets/data/lat", "lat_", {}},
                             {"python3 function, warm", root + "/buckets/data/py", "py_", {}},
                             {"floor: inotify + fdatasync + posix_spawn", dir + "/floor", "", {}}};
  for (int i = -3; i < trials; ++i) {  // the first three: warming, not counted
    for (size_t k = 0; k < peers.size(); ++k) {
      Peer& p = peers[k];
      std::string name = "p" + std::to_string(k) + "-" + std::to_string(i + 3);
      WriteText(dir + "/incoming/" + name, "sample\n");
      int64_t t0 = RealtimeNs();
      Check(::rename((dir + "/incoming/" + name).c_str(), (p.dir + "/" + name).c_str()) == 0, "rename");
      int64_t t1 = WaitStamp(out + "/" + p.prefix + name + ".stamp", 10000);
      Check(t1 != 0, p.name + ": no stamp for " + name + " (see " + dir + "/bucketd.log)");
      if (i >= 0) p.ms.push_back(static_cast<double>(t1 - t0) / 1e6);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  stop = true;
  floor.join();
  std::printf("rename into a watched folder -> the first line of what it runs, %d trials each, round-robin:\n",
              trials);
  std::vector<Quantiles> q;
  for (const Peer& p : peers) {
    q.push_back(Of(p.ms));
    std::printf("  %-42s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n", p.name.c_str(), q.back().p50, q.back().p99,
                q.back().max);
  }
  std::printf("  python warm - exec path at p50: %+.2f ms (goal <= +1.00); python - floor at p50: %+.2f ms\n",
              q[1].p50 - q[0].p50, q[1].p50 - q[2].p50);

  // Cold and warm starts through Invoke.
  std::vector<double> cold_ms, warm_ms;
  for (int i = 0; i < cold; ++i) {
    Output(ctl + " lambda update-function-code --function-name Cold");
    for (int warm = 0; warm < 2; ++warm) {
      auto t = Steady::now();
      Check(one.Invoke("Cold", "{}", false) == 200, "Invoke Cold: " + one.body());
      (warm ? warm_ms : cold_ms).push_back(Since(t) * 1e3);
    }
  }
  std::string log = Output("cat " + dir + "/bucketd.log");
  std::vector<double> init_ms;
  std::regex init("Init Duration: ([0-9.]+) ms");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), init); it != std::sregex_iterator(); ++it) {
    init_ms.push_back(std::stod((*it)[1]));
  }
  Quantiles c = Of(cold_ms), w = Of(warm_ms);
  std::printf("Invoke round trip (RequestResponse, endpoint), %d each:\n", cold);
  std::printf("  cold (a fresh environment)   p50 %7.2f ms  max %7.2f ms\n", c.p50, c.max);
  std::printf("  warm                         p50 %7.2f ms  max %7.2f ms\n", w.p50, w.max);
  if (!init_ms.empty()) {
    Quantiles in = Of(init_ms);
    std::printf("  REPORT Init Duration (%zu)   p50 %7.2f ms  max %7.2f ms\n", init_ms.size(), in.p50, in.max);
  }

  // Throughput: asynchronous invocations of a no-op, concurrency 2.
  long before = Succeeded(ctl);
  std::vector<std::unique_ptr<Invoker>> invokers;
  for (int i = 0; i < clients; ++i) {
    invokers.push_back(std::make_unique<Invoker>(base, admin.id, admin.secret));
  }
  std::atomic<int> next{0};
  auto start = Steady::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < clients; ++t) {
    pool.emplace_back([&, t] {
      for (int i; (i = next.fetch_add(1)) < events;) {
        Check(invokers[t]->Invoke("Noop", "{\"i\":" + std::to_string(i) + "}", true) == 202,
              "Invoke Event: " + invokers[t]->body());
      }
    });
  }
  for (auto& th : pool) th.join();
  double accepted = Since(start);
  long done_at_accepted = Succeeded(ctl) - before;
  auto drain_start = Steady::now();
  long done = 0;
  // Looked at 4 times a second: each look is a bucketctl process, whose
  // CPU the 2 cores would otherwise take from what is measured.
  while ((done = Succeeded(ctl) - before) < events && Since(start) < 600) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  double ran = Since(start), drained = Since(drain_start);
  Check(done >= events, "only " + std::to_string(done) + " of " + std::to_string(events) + " invocations succeeded");
  double sync_rate = FdatasyncRate(dir + "/fdatasync.bin", 2.0);
  std::printf("%d asynchronous invocations (Event) of a no-op python handler, concurrency 2, %d clients:\n", events,
              clients);
  std::printf("  accepted (202, durable)  %8.0f /s\n", events / accepted);
  std::printf("  run to success           %8.0f /s (goal >= 1000)\n", events / ran);
  std::printf("  run after the last 202   %8.0f /s (%ld left then: the runner with no clients beside it)\n",
              (events - done_at_accepted) / drained, events - done_at_accepted);
  std::printf("  peer: fdatasync on the same disk %8.0f /s (one commit per invocation would cap there)\n",
              sync_rate);
  Stop(bucketd);
  return 0;
}
