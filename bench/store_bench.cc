// Store benchmarks (issue 2). Prints its figures; bench/RESULTS.md keeps them.
//
//   store_bench [--dir DIR] [--objects N] [--size BYTES] [--list-keys N]
//
// 1. PutObject of N objects of SIZE bytes through the store, and in the same
//    run the raw durable-write pattern on the same data without the store
//    (open, write, fsync, rename, fsync of the directory), interleaved in
//    rounds so disk noise hits both alike; reports objects/s and the ratio.
// 2. ListObjectsV2 over LIST_KEYS keys (100 folders): one folder by prefix,
//    and the whole bucket in pages of 1000.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_check.h"
#include "store/store.h"

using namespace bucketd;
using bucketd::bench::Check;
using SteadyClock = std::chrono::steady_clock;

namespace {

double Seconds(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The raw pattern the store's put must approach.
void RawDurableWrite(int dir_fd, const std::string& name, const std::string& data) {
  std::string tmp = "." + name + ".tmp";
  int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  Check(fd >= 0, "raw open");
  Check(::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()), "raw write");
  Check(::fsync(fd) == 0, "raw fsync");
  ::close(fd);
  Check(::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) == 0, "raw rename");
  Check(::fsync(dir_fd) == 0, "raw dir fsync");
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/var/tmp/bucketd-store-bench";
  int objects = 10000, list_keys = 100000;
  size_t size = 4096;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--dir") dir = argv[i + 1];
    else if (f == "--objects") objects = std::atoi(argv[i + 1]);
    else if (f == "--size") size = static_cast<size_t>(std::atoll(argv[i + 1]));
    else if (f == "--list-keys") list_keys = std::atoi(argv[i + 1]);
    else Check(false, "unknown flag " + f);
  }
  Check(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "/raw'").c_str()) == 0, "mkdir");
  auto opened = store::Store::Open(Env::Default(), dir + "/store");
  Check(opened.ok(), opened.status().ToString());
  store::Store& s = **opened;
  Check(s.CreateBucket("bench").ok(), "create bucket");
  int raw_dir = ::open((dir + "/raw").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  std::string data(size, 'x');

  // 1. puts, interleaved with the raw pattern in rounds of 500.
  double store_s = 0, raw_s = 0;
  constexpr int kRound = 500;
  for (int base = 0; base < objects; base += kRound) {
    int n = std::min(kRound, objects - base);
    auto t0 = SteadyClock::now();
    for (int i = base; i < base + n; ++i) {
      std::memcpy(data.data(), &i, sizeof(i));
      auto r = s.PutObjectFromString("bench", "obj-" + std::to_string(i), data);
      Check(r.ok(), r.status().ToString());
    }
    auto t1 = SteadyClock::now();
    for (int i = base; i < base + n; ++i) {
      std::memcpy(data.data(), &i, sizeof(i));
      RawDurableWrite(raw_dir, "obj-" + std::to_string(i), data);
    }
    auto t2 = SteadyClock::now();
    store_s += Seconds(t0, t1);
    raw_s += Seconds(t1, t2);
  }
  double store_rate = objects / store_s, raw_rate = objects / raw_s;
  std::printf("put %d x %zu B: store %.0f objects/s, raw write+fsync+rename+dirfsync %.0f files/s, "
              "ratio %.2f\n",
              objects, size, store_rate, raw_rate, store_rate / raw_rate);

  // 2. listing. Keys are dropped in as files (as another program would), then
  // listed once so their metadata is cached, as it is in steady state.
  Check(s.CreateBucket("list").ok(), "create list bucket");
  std::string bucket_dir = s.BucketPath("list");
  int folders = 100, per = list_keys / folders;
  for (int d = 0; d < folders; ++d) {
    char folder[64];
    std::snprintf(folder, sizeof(folder), "%s/logs/day%03d", bucket_dir.c_str(), d);
    Check(std::system(("mkdir -p " + std::string(folder)).c_str()) == 0, "mkdir folder");
    for (int k = 0; k < per; ++k) {
      std::string p = std::string(folder) + "/event-" + std::to_string(k) + ".json";
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      Check(fd >= 0 && ::write(fd, "{}", 2) == 2, "write key");
      ::close(fd);
    }
  }
  auto list_all = [&](const std::string& prefix, int* keys, int* pages) {
    store::ListRequest req;
    req.prefix = prefix;
    *keys = *pages = 0;
    for (;;) {
      auto r = s.ListObjectsV2("list", req);
      Check(r.ok(), r.status().ToString());
      *keys += static_cast<int>(r->contents.size());
      ++*pages;
      if (!r->is_truncated) return;
      req.continuation_token = r->next_continuation_token;
    }
  };
  int keys, pages;
  auto c0 = SteadyClock::now();
  list_all("", &keys, &pages);
  auto c1 = SteadyClock::now();
  std::printf("list %d keys, first time (ETags computed and cached): %.2f s\n", keys,
              Seconds(c0, c1));
  auto p0 = SteadyClock::now();
  int prefix_keys = 0, prefix_pages = 0;
  constexpr int kPrefixRuns = 20;
  for (int i = 0; i < kPrefixRuns; ++i) list_all("logs/day042/", &prefix_keys, &prefix_pages);
  auto p1 = SteadyClock::now();
  std::printf("ListObjectsV2 prefix 'logs/day042/' over %d keys: %d keys in %d page(s), "
              "%.2f ms per listing\n",
              keys, prefix_keys, prefix_pages, Seconds(p0, p1) * 1000 / kPrefixRuns);
  auto a0 = SteadyClock::now();
  list_all("", &keys, &pages);
  auto a1 = SteadyClock::now();
  std::printf("ListObjectsV2 whole bucket, %d keys in %d pages of 1000: %.2f s (%.0f keys/s)\n",
              keys, pages, Seconds(a0, a1), keys / Seconds(a0, a1));
  ::close(raw_dir);
  Check(std::system(("rm -rf '" + dir + "'").c_str()) == 0, "cleanup");
  return 0;
}
