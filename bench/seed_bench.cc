// Seed pipeline, part 1: what the generator, the extract stage and the fetch
// stage cost, each next to the tool a person would otherwise use.
//
//   seed_bench [--companies N] [--extract-companies N] [--rounds R] [--dir D]
//              [--parts gen,sftp,extract] [--formats rar,rar4,zip,7z,tar.gz]
//
// 1. bucketgen --companies N (default 1,000,000) --months 3: wall time, CPU
//    time and peak RSS (the child's ru_maxrss).
// 2. Extraction of a whole stock delivery (--extract-companies, default
//    200,000) in each archive format: the extract stage (into a store, both
//    layouts, fsync'd) against `bsdtar -xf` (libarchive-tools) on the same
//    archives, and against bsdtar followed by sync(1) of the files it wrote
//    (the stage's puts are fsync'd); MB/s of unpacked bytes, median of R
//    rounds, interleaved. The stage writes every table once (UNZIP_DATA;
//    UNZIP_DATA_APPEND_ALL is a second name of the same file), as bsdtar does.
// 3. SFTP download of the largest archive of step 1 from OpenSSH's sshd on
//    127.0.0.1: the fetch stage's client against OpenSSH's `sftp`; median MB/s.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_check.h"
#include "common/env.h"
#include "stages/delivery.h"
#include "stages/extract.h"
#include "stages/fetch.h"
#include "stages/sftp_client.h"
#include "store/store.h"
#include "tests/stages/sshd_server.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace bucketd;
using bench::Check;

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct ChildCost {
  double wall = 0, cpu = 0;
  long max_rss_kb = 0;
  int status = -1;
};

// Runs argv to completion, with its resource use (stdout to /dev/null).
ChildCost RunMeasured(const std::vector<std::string>& argv) {
  auto start = Clock::now();
  std::fflush(stdout);  // or the child writes our buffered lines again
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  ChildCost c;
  struct rusage ru;
  wait4(pid, &c.status, 0, &ru);
  c.wall = Since(start);
  c.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  c.max_rss_kb = ru.ru_maxrss;
  return c;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

void Generate(const std::string& dir, uint64_t companies, const std::string& format) {
  ChildCost c = RunMeasured({testing::BinDir() + "/bucketgen", "--out", dir, "--companies", std::to_string(companies),
                             "--months", "1", "--seed", "1", "--format", format});
  Check(c.status == 0, "bucketgen failed for " + format);
}

void BenchGenerator(const std::string& base, uint64_t companies) {
  std::string dir = base + "/gen";
  fs::remove_all(dir);
  ChildCost c = RunMeasured({testing::BinDir() + "/bucketgen", "--out", dir, "--companies", std::to_string(companies),
                             "--months", "3", "--seed", "1", "--format", "rar"});
  Check(c.status == 0, "bucketgen failed");
  auto summary = nlohmann::json::parse(testing::ReadFile(dir + "/summary.json"));
  std::printf("generator: bucketgen --companies %llu --months 3 --format rar\n",
              static_cast<unsigned long long>(companies));
  std::printf("  wall %.1f s, cpu %.1f s, peak RSS %.1f MiB, output %.1f MiB (%llu balance sheets), true AUC %.3f\n",
              c.wall, c.cpu, static_cast<double>(c.max_rss_kb) / 1024, static_cast<double>(DirBytes(dir + "/out")) / (1 << 20),
              static_cast<unsigned long long>(summary["sheets"].get<uint64_t>()),
              summary["training_sheets"]["true_probability_auc"].get<double>());
}

void BenchExtract(const std::string& base, uint64_t companies, int rounds, const std::vector<std::string>& formats) {
  std::printf("extraction: stock delivery of %llu companies, all 11 tables; median of %d rounds\n",
              static_cast<unsigned long long>(companies), rounds);
  std::printf("  %-8s %8s %14s %17s %8s %19s %8s\n", "format", "MiB", "extract MB/s", "bsdtar -xf MB/s", "ratio",
              "bsdtar+sync MB/s", "ratio");
  for (const std::string& format : formats) {
    std::string gen = base + "/x-" + format;
    fs::remove_all(gen);
    Generate(gen, companies, format);
    std::string delivery = gen + "/out/UKLTD_M_20240101";
    std::vector<std::string> archives;
    for (const auto& e : fs::directory_iterator(delivery)) archives.push_back(e.path().string());
    std::sort(archives.begin(), archives.end());
    std::vector<double> ours, theirs, theirs_synced;
    uint64_t unpacked = 0;
    for (int r = 0; r < rounds; ++r) {
      // bsdtar, one process per archive as a person would run it
      std::string out = base + "/bsdtar-out";
      fs::remove_all(out);
      fs::create_directories(out);
      auto t = Clock::now();
      for (const auto& a : archives) {
        Check(RunMeasured({"/usr/bin/bsdtar", "-xf", a, "-C", out}).status == 0, "bsdtar failed on " + a);
      }
      double bsdtar_s = Since(t);
      // …and made durable, as the stage's puts are (sync FILE… fsyncs them)
      std::vector<std::string> sync_args{"/bin/sync"};
      for (const auto& e : fs::directory_iterator(out)) sync_args.push_back(e.path().string());
      Check(RunMeasured(sync_args).status == 0, "sync failed");
      double bsdtar_sync_s = Since(t);
      unpacked = DirBytes(out);
      // the extract stage into a fresh store
      std::string root = base + "/store";
      fs::remove_all(root);
      auto store = store::Store::Open(Env::Default(), root);
      Check(store.ok(), "store");
      Check((*store)->CreateBucket("creditsafedata").ok(), "bucket");
      std::vector<std::string> keys;
      for (const auto& a : archives) {
        std::string key = "DATA/RAW_DATA/UKLTD_M_20240101/" + fs::path(a).filename().string();
        Check((*store)->PutObjectFromFile("creditsafedata", key, a).ok(), "put " + a);
        keys.push_back(key);
      }
      std::atomic<bool> cancelled{false};
      t = Clock::now();
      for (const auto& key : keys) {
        runner::StageContext ctx;
        ctx.input = nlohmann::json({{"bucket", "creditsafedata"}, {"key", key}}).dump();
        ctx.store = store->get();
        ctx.cancelled = &cancelled;
        ctx.log = [](const std::string&) {};
        Status s = stages::ExtractStage(ctx);
        Check(s.ok(), s.message());
      }
      double ours_s = Since(t);
      ours.push_back(static_cast<double>(unpacked) / 1e6 / ours_s);
      theirs.push_back(static_cast<double>(unpacked) / 1e6 / bsdtar_s);
      theirs_synced.push_back(static_cast<double>(unpacked) / 1e6 / bsdtar_sync_s);
    }
    std::printf("  %-8s %8.1f %14.1f %17.1f %8.2f %19.1f %8.2f\n", format.c_str(),
                static_cast<double>(unpacked) / (1 << 20), Median(ours), Median(theirs), Median(ours) / Median(theirs),
                Median(theirs_synced), Median(ours) / Median(theirs_synced));
    fs::remove_all(gen);
  }
  fs::remove_all(base + "/store");
  fs::remove_all(base + "/bsdtar-out");
}

void BenchSftp(const std::string& base, int rounds) {
  // The largest archive the generator step wrote.
  std::string biggest;
  for (const auto& e : fs::recursive_directory_iterator(base + "/gen/out")) {
    if (e.is_regular_file() && (biggest.empty() || e.file_size() > fs::file_size(biggest))) biggest = e.path().string();
  }
  Check(!biggest.empty(), "no archive from the generator step");
  uint64_t size = fs::file_size(biggest);
  std::string sshd_dir = base + "/sshd";
  fs::remove_all(sshd_dir);
  fs::create_directories(sshd_dir);
  testing::SshdServer server(sshd_dir);
  Check(server.Start(), server.error());
  testing::WriteFile(base + "/known_hosts", server.KnownHostsLine());
  stages::SftpEndpoint ep{"127.0.0.1", server.port(), server.user(), base + "/known_hosts", 30};
  stages::SftpSecret secret{testing::ReadFile(server.client_key()), "", "bench key"};
  std::vector<double> ours, theirs;
  std::string local = base + "/download.part";
  for (int r = 0; r < rounds; ++r) {
    fs::remove(local);
    auto t = Clock::now();
    auto client = stages::SftpClient::Connect(ep, secret);
    Check(client.ok(), client.ok() ? "" : client.status().message());
    Status s = (*client)->Download(Env::Default().fs(), biggest, size, local, {}, nullptr);
    Check(s.ok(), s.message());
    ours.push_back(static_cast<double>(size) / 1e6 / Since(t));
    Check(fs::file_size(local) == size, "short download");
    fs::remove(local);
    testing::WriteFile(base + "/batch", "get " + biggest + " " + local + "\n");
    t = Clock::now();
    ChildCost c = RunMeasured({"/usr/bin/sftp", "-q", "-b", base + "/batch", "-i", server.client_key(), "-P",
                               std::to_string(server.port()), "-o", "UserKnownHostsFile=" + base + "/known_hosts",
                               "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                               server.user() + "@127.0.0.1"});
    Check(c.status == 0, "sftp failed");
    theirs.push_back(static_cast<double>(size) / 1e6 / Since(t));
    Check(fs::file_size(local) == size, "short sftp download");
  }
  fs::remove(local);
  std::printf("sftp download of %s (%.1f MiB) from sshd on 127.0.0.1, median of %d rounds (connect included)\n",
              fs::path(biggest).filename().c_str(), static_cast<double>(size) / (1 << 20), rounds);
  std::printf("  fetch stage client %.1f MB/s, OpenSSH sftp %.1f MB/s, ratio %.2f\n", Median(ours), Median(theirs),
              Median(ours) / Median(theirs));
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t companies = 1000000, extract_companies = 200000;
  int rounds = 3;
  std::string dir = "/var/tmp/bucketd-seed-bench";
  std::string parts = "gen,sftp,extract";
  std::vector<std::string> formats{"rar", "rar4", "zip", "7z", "tar.gz"};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--companies") companies = std::stoull(argv[i + 1]);
    else if (flag == "--extract-companies") extract_companies = std::stoull(argv[i + 1]);
    else if (flag == "--rounds") rounds = std::stoi(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else if (flag == "--parts") parts = argv[i + 1];
    else if (flag == "--formats") {
      formats.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string f; std::getline(list, f, ',');) formats.push_back(f);
    }
    else Check(false, "unknown flag " + flag);
  }
  fs::create_directories(dir);
  // sftp downloads the generator's largest archive, so it needs gen
  if (parts.find("gen") != std::string::npos || parts.find("sftp") != std::string::npos) BenchGenerator(dir, companies);
  if (parts.find("sftp") != std::string::npos) BenchSftp(dir, rounds);
  if (parts.find("extract") != std::string::npos) BenchExtract(dir, extract_companies, rounds, formats);
  fs::remove_all(dir);
  return 0;
}
