// The S3 endpoint's speed (issue 14): the same workload, the same number of
// concurrent keep-alive clients, against
//   bucketd's endpoint      (a running bucketd, a SigV4-signed libcurl client),
//   the store directly      (store::Store put/get of the same bytes: the floor),
//   nginx                   (GET only: the same files served statically),
//   moto_server             (the S3 emulator at LocalStack's core).
// Figures: PUT and GET of small objects (ops/s), PUT and GET of one big
// object (MB/s), and a whole ListObjectsV2 over many keys (pages of 1,000).
// The client signs with libcurl's own SigV4 (CURLOPT_AWS_SIGV4), not
// bucketd's code, and sends UNSIGNED-PAYLOAD as the SDKs do over https.
//
// Usage: s3_bench [--clients 8] [--small 2000] [--small-bytes 4096]
//                 [--big-mib 1024] [--list-keys 100000] [--dir /var/tmp/bucketd-s3-bench]
#include <curl/curl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_check.h"
#include "bench/bench_process.h"
#include "bench/run_probe.h"
#include "store/store.h"

namespace bucketd::bench {
namespace {

using Steady = std::chrono::steady_clock;

double Since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }


// One keep-alive connection's client: a libcurl easy handle, signed with
// SigV4 when it has a key.
class Client {
 public:
  Client(std::string base, std::string key_id, std::string secret) : base_(std::move(base)) {
    curl_ = curl_easy_init();
    if (!key_id.empty()) {
      userpwd_ = key_id + ":" + secret;
      curl_easy_setopt(curl_, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
      curl_easy_setopt(curl_, CURLOPT_USERPWD, userpwd_.c_str());
      headers_ = curl_slist_append(headers_, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    }
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Client::Sink);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl_, CURLOPT_READFUNCTION, &Client::Source);
    curl_easy_setopt(curl_, CURLOPT_READDATA, this);
  }
  ~Client() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }
  // PUT `size` bytes of `data`; the HTTP status.
  long Put(const std::string& path, const char* data, uint64_t size) {
    src_ = data;
    left_ = size;
    curl_easy_setopt(curl_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    return Perform(path);
  }
  // GET; the body's bytes are counted, kept only when `keep`.
  long Get(const std::string& path, bool keep = false) {
    keep_ = keep;
    body_.clear();
    received_ = 0;
    curl_easy_setopt(curl_, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    return Perform(path);
  }
  uint64_t received() const { return received_; }
  const std::string& body() const { return body_; }

 private:
  long Perform(const std::string& path) {
    std::string url = base_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    CURLcode rc = curl_easy_perform(curl_);
    Check(rc == CURLE_OK, url + ": " + curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
  static size_t Sink(char* p, size_t size, size_t n, void* self) {
    auto* c = static_cast<Client*>(self);
    c->received_ += size * n;
    if (c->keep_) c->body_.append(p, size * n);
    return size * n;
  }
  static size_t Source(char* p, size_t size, size_t n, void* self) {
    auto* c = static_cast<Client*>(self);
    size_t k = static_cast<size_t>(std::min<uint64_t>(size * n, c->left_));
    std::memcpy(p, c->src_, k);
    c->src_ += k;
    c->left_ -= k;
    return k;
  }

  std::string base_, userpwd_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  const char* src_ = nullptr;
  uint64_t left_ = 0;
  bool keep_ = false;
  std::string body_;
  uint64_t received_ = 0;
};

// `count` operations over `threads` threads (op(thread, i)); operations per second.
double Parallel(int threads, int count, const std::function<void(int, int)>& op) {
  std::atomic<int> next{0};
  auto start = Steady::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i; (i = next.fetch_add(1)) < count;) op(t, i);
    });
  }
  for (auto& th : pool) th.join();
  return count / Since(start);
}

struct Target {
  std::string name;
  std::string base;  // http://127.0.0.1:PORT
  std::string key_id, secret;
};

std::vector<std::unique_ptr<Client>> Clients(const Target& t, int n) {
  std::vector<std::unique_ptr<Client>> out;
  for (int i = 0; i < n; ++i) out.push_back(std::make_unique<Client>(t.base, t.key_id, t.secret));
  return out;
}

std::string SmallKey(int i) { return "small/" + std::to_string(i % 100) + "/" + std::to_string(i); }

void Row(const char* figure, const std::string& unit, double bucketd, double floor, const char* floor_name,
         double moto, double goal) {
  std::printf("| %s | %.0f %s | %.0f %s (%s) | %.2f (goal >= %.1f) | %.0f %s | %.1fx |\n", figure, bucketd,
              unit.c_str(), floor, unit.c_str(), floor_name, bucketd / floor, goal, moto, unit.c_str(),
              moto > 0 ? bucketd / moto : 0.0);
}

}  // namespace
}  // namespace bucketd::bench

int main(int argc, char** argv) {
  using namespace bucketd;
  using namespace bucketd::bench;
  int clients = 8, small = 2000, list_keys = 100000;
  uint64_t small_bytes = 4096, big_mib = 1024;
  std::string dir = "/var/tmp/bucketd-s3-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--clients") clients = std::stoi(v);
    else if (f == "--small") small = std::stoi(v);
    else if (f == "--small-bytes") small_bytes = std::stoull(v);
    else if (f == "--big-mib") big_mib = std::stoull(v);
    else if (f == "--list-keys") list_keys = std::stoi(v);
    else if (f == "--dir") dir = v;
    else Check(false, "unknown flag " + f);
  }
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_ALL);
  std::string bin = BinDir();
  Output("rm -rf '" + dir + "' && mkdir -p '" + dir + "/root' '" + dir + "/cfg' '" + dir + "/nginx'");

  // bucketd with one admin user.
  std::string ctl = bin + "/bucketctl --config-dir " + dir + "/cfg";
  AccessKey admin = CreateAdminKey(ctl);
  int port = FreePort();
  pid_t bucketd = Start({bin + "/bucketd", "--root", dir + "/root", "--config-dir", dir + "/cfg", "--api-listen",
                         "127.0.0.1:" + std::to_string(port)},
                        dir + "/bucketd.log");
  Target b{"bucketd", "http://127.0.0.1:" + std::to_string(port), admin.id, admin.secret};
  int moto_port = FreePort();
  pid_t moto = Start({"moto_server", "-H", "127.0.0.1", "-p", std::to_string(moto_port)}, dir + "/moto.log");
  Target m{"moto", "http://127.0.0.1:" + std::to_string(moto_port), "AKIAMOTOBENCH0000000", "moto"};
  for (const Target* t : {&b, &m}) {
    Client c(t->base, t->key_id, t->secret);
    bool up = false;
    for (int i = 0; i < 300 && !up; ++i) {
      CURL* probe = curl_easy_init();
      curl_easy_setopt(probe, CURLOPT_URL, (t->base + "/").c_str());
      curl_easy_setopt(probe, CURLOPT_NOBODY, 1L);
      up = curl_easy_perform(probe) == CURLE_OK;
      curl_easy_cleanup(probe);
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Check(up, t->name + " did not start (see " + dir + ")");
    Check(c.Put("/bench", "", 0) == 200, t->name + ": CreateBucket");
  }
  auto store = store::Store::Open(Env::Default(), dir + "/root");
  Check(store.ok(), "open the store");
  Check((*store)->CreateBucket("direct").ok(), "create the direct bucket");

  std::string data(small_bytes, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  auto put_ops = [&](const Target& t) {
    auto cs = Clients(t, clients);
    return Parallel(clients, small, [&](int th, int i) {
      Check(cs[th]->Put("/bench/" + SmallKey(i), data.data(), data.size()) == 200, t.name + " PUT");
    });
  };
  auto get_ops = [&](const Target& t, const std::string& prefix) {
    auto cs = Clients(t, clients);
    return Parallel(clients, small, [&](int th, int i) {
      Check(cs[th]->Get(prefix + SmallKey(i)) == 200 && cs[th]->received() == data.size(), t.name + " GET");
    });
  };
  double put_b = put_ops(b);
  double put_direct = Parallel(clients, small, [&](int, int i) {
    Check((*store)->PutObjectFromString("direct", SmallKey(i), data).ok(), "direct put");
  });
  double put_m = put_ops(m);
  double get_b = get_ops(b, "/bench/");
  double get_direct = Parallel(clients, small, [&](int, int i) {
    store::StringSink sink;
    Check((*store)->GetObject("direct", SmallKey(i), sink).ok() && sink.data().size() == data.size(), "direct get");
  });
  double get_m = get_ops(m, "/bench/");

  // nginx serving the bucket directory bucketd's endpoint wrote.
  int nginx_port = FreePort();
  std::string conf = dir + "/nginx/nginx.conf";
  FILE* f = std::fopen(conf.c_str(), "w");
  std::fprintf(f,
               "worker_processes 2;\nerror_log %s/nginx/error.log;\npid %s/nginx/nginx.pid;\n"
               "events { worker_connections 1024; }\n"
               "http { access_log off; sendfile on; keepalive_requests 100000;\n"
               "  client_body_temp_path %s/nginx; proxy_temp_path %s/nginx; fastcgi_temp_path %s/nginx;\n"
               "  uwsgi_temp_path %s/nginx; scgi_temp_path %s/nginx;\n"
               "  server { listen 127.0.0.1:%d; root %s/root/buckets; } }\n",
               dir.c_str(), dir.c_str(), dir.c_str(), dir.c_str(), dir.c_str(), dir.c_str(), dir.c_str(), nginx_port,
               dir.c_str());
  std::fclose(f);
  pid_t nginx = Start({"/usr/sbin/nginx", "-c", conf, "-p", dir + "/nginx", "-g", "daemon off;"}, dir + "/nginx.log");
  Target n{"nginx", "http://127.0.0.1:" + std::to_string(nginx_port), "", ""};
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  double get_n = get_ops(n, "/bench/");

  // One big object, one client each.
  uint64_t big = big_mib << 20;
  std::string blob(big, '\0');
  for (uint64_t i = 0; i < big; i += 4096) blob[i] = static_cast<char>(i / 4096);
  auto big_put = [&](const Target& t) {
    Client c(t.base, t.key_id, t.secret);
    auto start = Steady::now();
    Check(c.Put("/bench/big", blob.data(), blob.size()) == 200, t.name + " big PUT");
    return big / 1e6 / Since(start);
  };
  auto big_get = [&](const Target& t, const std::string& path) {
    Client c(t.base, t.key_id, t.secret);
    auto start = Steady::now();
    Check(c.Get(path) == 200 && c.received() == big, t.name + " big GET");
    return big / 1e6 / Since(start);
  };
  double bput_b = big_put(b);
  auto start = Steady::now();
  Check((*store)->PutObjectFromString("direct", "big", blob).ok(), "direct big put");
  double bput_direct = big / 1e6 / Since(start);
  double bput_m = big_put(m);
  double bget_b = big_get(b, "/bench/big");
  start = Steady::now();
  {
    struct Counting : store::ByteSink {
      uint64_t n = 0;
      Status Write(std::string_view d) override {
        n += d.size();
        return Status::OK();
      }
    } sink;
    Check((*store)->GetObject("direct", "big", sink).ok() && sink.n == big, "direct big get");
  }
  double bget_direct = big / 1e6 / Since(start);
  double bget_n = big_get(n, "/bench/big");
  double bget_m = big_get(m, "/bench/big");
  std::string().swap(blob);

  // ListObjectsV2 over list_keys keys: dropped into bucketd's tree (and
  // listed once, so ETags are cached), PUT into moto.
  ::mkdir((dir + "/root/buckets/bench/list").c_str(), 0755);
  for (int d = 0; d < 100; ++d) ::mkdir((dir + "/root/buckets/bench/list/" + std::to_string(d)).c_str(), 0755);
  for (int i = 0; i < list_keys; ++i) {
    std::string d = dir + "/root/buckets/bench/list/" + std::to_string(i % 100);
    FILE* k = std::fopen((d + "/" + std::to_string(i)).c_str(), "w");
    Check(k != nullptr, "drop a list key");
    std::fclose(k);
  }
  {
    auto cs = Clients(m, clients);
    Parallel(clients, list_keys, [&](int th, int i) {
      Check(cs[th]->Put("/bench/list/" + std::to_string(i % 100) + "/" + std::to_string(i), "", 0) == 200, "moto list key");
    });
  }
  auto list_all = [&](const Target& t) {
    Client c(t.base, t.key_id, t.secret);
    std::string token;
    int keys = 0;
    auto t0 = Steady::now();
    for (int page = 0; page < list_keys / 1000 + 2; ++page) {
      // In SigV4's canonical order already: libcurl 7.88 signs the query as it is.
      std::string q = "/bench?";
      if (!token.empty()) {
        char* esc = curl_easy_escape(nullptr, token.c_str(), static_cast<int>(token.size()));
        q += std::string("continuation-token=") + esc + "&";
        curl_free(esc);
      }
      q += "list-type=2&max-keys=1000&prefix=list%2F";
      Check(c.Get(q, true) == 200, t.name + " ListObjectsV2");
      for (size_t at = 0; (at = c.body().find("<Key>", at)) != std::string::npos; ++at) ++keys;
      size_t at = c.body().find("<NextContinuationToken>");
      if (at == std::string::npos) break;
      at += 23;
      token = c.body().substr(at, c.body().find('<', at) - at);
    }
    Check(keys == list_keys, t.name + " listed " + std::to_string(keys) + " keys");
    return Since(t0);
  };
  (void)list_all(b);  // the first listing computes and caches the dropped files' ETags
  double list_b = list_all(b);
  double list_m = list_all(m);

  std::printf("s3_bench: %d clients, %d objects of %llu B, one of %llu MiB, %d keys listed\n\n", clients, small,
              static_cast<unsigned long long>(small_bytes), static_cast<unsigned long long>(big_mib), list_keys);
  std::printf("| figure | bucketd endpoint | floor | ratio | moto_server | bucketd / moto |\n|---|---|---|---|---|---|\n");
  Row("PUT small", "ops/s", put_b, put_direct, "store direct", put_m, 0.8);
  Row("GET small", "ops/s", get_b, get_n, "nginx", get_m, 0.7);
  std::printf("| GET small, store direct | %.0f ops/s | | | | |\n", get_direct);
  Row("PUT big", "MB/s", bput_b, bput_direct, "store direct", bput_m, 0.8);
  Row("GET big", "MB/s", bget_b, bget_direct, "store direct", bget_m, 0.8);
  std::printf("| GET big, nginx | %.0f MB/s | | | | |\n", bget_n);
  std::printf("| ListObjectsV2, %d keys | %.2f s | | | %.2f s | %.1fx |\n", list_keys, list_b, list_m, list_m / list_b);
  Stop(nginx);
  Stop(moto);
  Stop(bucketd);
  return 0;
}
