#include "stages/fetch.h"

#include "common/file_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/unique_fd.h"
#include "stages/delivery.h"
#include "stages/stage_input.h"

namespace bucketd::stages {
namespace {

using Clock = std::chrono::steady_clock;

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Sleeps `ms`, waking early when cancelled; false when cancelled.
bool Pause(int64_t ms, const std::atomic<bool>* cancelled) {
  auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < until) {
    if (cancelled && cancelled->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !(cancelled && cancelled->load());
}

// A secret file must be bucketd's (or root's: systemd's credential copies)
// and unreadable to group and others.
Result<std::string> ReadSecretFile(Fs& fs, const std::string& path, const char* what) {
  auto opened = fs.OpenAt(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW, 0);
  if (!opened.ok()) return Status::NotFound(std::string(what) + " " + path + ": " + opened.status().message());
  UniqueFd fd = std::move(opened).value();
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return Status::NotFound(std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(std::string(what) + " " + path + " is not a file");
  if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return Status::PermissionDenied(std::string(what) + " " + path + " has mode " + mode + " and owner uid " +
                                    std::to_string(st.st_uid) + "; it must belong to uid " +
                                    std::to_string(geteuid()) + " (or root) with no access for group and others "
                                    "(chmod 600)");
  }
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  if (n < 0) return Status::IOError(std::string("cannot read ") + what + " " + path + ": " + std::strerror(errno));
  return text;
}

struct Remote {
  std::string delivery, stamp;
  RemoteEntry file;
};

std::vector<std::string> FetchedDeliveries(store::Store& store, const FetchRequest& r) {
  std::vector<std::string> out;
  store::ListRequest req;
  req.prefix = r.prefix;
  req.delimiter = "/";
  for (;;) {
    auto page = store.ListObjectsV2(r.bucket, req);
    if (!page.ok()) break;
    for (const auto& p : page->common_prefixes) {
      std::string name = p.substr(r.prefix.size(), p.size() - r.prefix.size() - 1);
      if (auto stamp = ParseDeliveryName(name)) out.push_back(*stamp);
    }
    if (!page->is_truncated) break;
    req.continuation_token = page->next_continuation_token;
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Fetcher {
 public:
  Fetcher(const FetchRequest& r, const SftpSecret& secret, store::Store& store, std::string state_dir,
          const FetchHooks& hooks)
      : r_(r), secret_(secret), store_(store), partial_dir_(std::move(state_dir) + "/fetch/partial"), hooks_(hooks) {}

  Status Once(FetchSummary* summary) {
    ASSIGN_OR_RETURN(auto client, SftpClient::Connect(r_.endpoint, secret_));
    ASSIGN_OR_RETURN(auto top, client->List(r_.remote_dir));
    std::vector<std::pair<std::string, std::string>> deliveries;  // stamp, name
    for (const auto& e : top) {
      auto stamp = ParseDeliveryName(e.name);
      if (e.directory && stamp) deliveries.emplace_back(*stamp, e.name);
    }
    std::sort(deliveries.begin(), deliveries.end());
    if (!r_.stock && !deliveries.empty()) {
      auto fetched = FetchedDeliveries(store_, r_);
      std::string newest = fetched.empty() ? deliveries.back().first : fetched.back();
      bool keep_newest = fetched.empty();
      std::erase_if(deliveries, [&](const auto& d) { return keep_newest ? d.first < newest : d.first <= newest; });
    }
    summary->deliveries = static_cast<int>(deliveries.size());
    hooks_.log(std::to_string(deliveries.size()) + (r_.stock ? " deliveries (stock: all)" : " new deliveries") +
               " on " + r_.endpoint.host + ":" + r_.remote_dir);
    for (const auto& [stamp, name] : deliveries) {
      ASSIGN_OR_RETURN(auto files, client->List(r_.remote_dir + "/" + name));
      std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
      for (const auto& f : files) {
        auto parsed = ParseDeliveryFileName(f.name);
        if (f.directory || !parsed || parsed->stamp != stamp || f.name.ends_with(".part")) continue;
        RETURN_IF_ERROR(FetchFile(*client, name, f, summary));
      }
    }
    return Status::OK();
  }

 private:
  Status FetchFile(SftpClient& client, const std::string& delivery, const RemoteEntry& f, FetchSummary* summary) {
    std::string key = r_.prefix + delivery + "/" + f.name;
    auto have = store_.HeadObject(r_.bucket, key);
    if (have.ok() && have->size == f.size) {
      summary->present++;
      return Status::OK();
    }
    Status made = MakeDirs(store_.env().fs(), partial_dir_ + "/" + delivery, 0700);
    if (!made.ok()) return Status::IOError("cannot create " + partial_dir_ + "/" + delivery + ": " + made.message());
    std::string partial = partial_dir_ + "/" + delivery + "/" + f.name + ".part";
    struct stat st;
    if (::stat(partial.c_str(), &st) == 0) {
      if (static_cast<uint64_t>(st.st_size) > f.size) {
        hooks_.log(f.name + ": the partial download is longer than the remote file; starting again");
        ::unlink(partial.c_str());
      } else if (st.st_size > 0) {
        hooks_.log(f.name + ": resuming at byte " + std::to_string(st.st_size) + " of " + std::to_string(f.size));
      }
    }
    auto started = Clock::now();
    auto last_log = started;
    uint64_t first_byte = 0;
    bool first = true;
    auto progress = [&](uint64_t done) {
      if (first) {
        first_byte = done;
        first = false;
      }
      if (hooks_.progress) hooks_.progress(f.name, done, f.size);
      auto now = Clock::now();
      if (now - last_log >= std::chrono::seconds(2)) {
        last_log = now;
        double secs = std::chrono::duration<double>(now - started).count();
        hooks_.log(f.name + ": " + Mib(done) + " of " + Mib(f.size) + " MiB (" +
                   std::to_string(f.size ? done * 100 / f.size : 100) + "%), " +
                   Mib(static_cast<uint64_t>(static_cast<double>(done - first_byte) / std::max(secs, 1e-3))) +
                   " MiB/s");
      }
    };
    std::string remote = r_.remote_dir + "/" + delivery + "/" + f.name;
    RETURN_IF_ERROR(client.Download(store_.env().fs(), remote, f.size, partial, progress, hooks_.cancelled));
    if (::stat(partial.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != f.size) {
      ::unlink(partial.c_str());
      return Status::Unavailable(f.name + ": downloaded " + std::to_string(st.st_size) + " bytes, the server listed " +
                                 std::to_string(f.size) + "; fetching it again");
    }
    store::PutOptions put = hooks_.put;
    put.user_metadata["source"] = "sftp://" + r_.endpoint.user + "@" + r_.endpoint.host + ":" +
                                  std::to_string(r_.endpoint.port) + remote;
    put.user_metadata["remote-mtime"] = std::to_string(f.mtime);
    RETURN_IF_ERROR(store_.PutObjectFromFile(r_.bucket, key, partial, put).status());
    ::unlink(partial.c_str());
    double secs = std::chrono::duration<double>(Clock::now() - started).count();
    hooks_.log(f.name + ": " + std::to_string(f.size) + " bytes in " + std::to_string(static_cast<int64_t>(secs * 1000)) +
               " ms (" + Mib(static_cast<uint64_t>(static_cast<double>(f.size - first_byte) / std::max(secs, 1e-3))) +
               " MiB/s) -> s3://" + r_.bucket + "/" + key);
    summary->fetched++;
    summary->bytes += f.size;
    return Status::OK();
  }

  const FetchRequest& r_;
  const SftpSecret& secret_;
  store::Store& store_;
  std::string partial_dir_;
  const FetchHooks& hooks_;
};

std::string CredentialsDirectory() {
  const char* d = std::getenv("CREDENTIALS_DIRECTORY");
  return d ? d : "";
}

}  // namespace

Result<FetchRequest> ParseFetchRequest(Fs& fs, const nlohmann::json& in, const std::string& credentials_dir) {
  for (const char* secret : {"password", "private_key", "passphrase", "secret", "key"}) {
    if (in.contains(secret)) {
      return Status::InvalidArgument(std::string("input field \"") + secret +
                                     "\": secrets do not belong in the target input (rule files and run "
                                     "records are readable); put it in $CREDENTIALS_DIRECTORY/<credential> "
                                     "(systemd LoadCredential=) or a key file of mode 0600 named by \"key_file\"");
    }
  }
  FetchRequest r;
  ASSIGN_OR_RETURN(r.endpoint.host, StringOption(in, "host", ""));
  ASSIGN_OR_RETURN(r.endpoint.user, StringOption(in, "user", ""));
  if (r.endpoint.host.empty() || r.endpoint.user.empty()) {
    return Status::InvalidArgument("input fields \"host\" and \"user\": expected the SFTP server and user name");
  }
  ASSIGN_OR_RETURN(int64_t port, IntOption(in, "port", 22));
  if (port < 1 || port > 65535) return Status::InvalidArgument("input field \"port\": expected 1-65535");
  r.endpoint.port = static_cast<int>(port);
  ASSIGN_OR_RETURN(r.remote_dir, StringOption(in, "remote_dir", r.remote_dir));
  if (in.contains("stock") && in["stock"].is_boolean()) {
    r.stock = in["stock"].get<bool>();
  } else {
    ASSIGN_OR_RETURN(std::string stock, StringOption(in, "stock", "FALSE"));
    if (stock != "TRUE" && stock != "FALSE") {
      return Status::InvalidArgument("input field \"stock\": expected \"TRUE\" or \"FALSE\", found \"" + stock + "\"");
    }
    r.stock = stock == "TRUE";
  }
  std::string default_known = credentials_dir.empty() ||
                                      !fs.StatAt(AT_FDCWD, credentials_dir + "/known_hosts", true).ok()
                                  ? "/etc/bucketd/known_hosts"
                                  : credentials_dir + "/known_hosts";
  ASSIGN_OR_RETURN(r.endpoint.known_hosts, StringOption(in, "known_hosts", default_known));
  ASSIGN_OR_RETURN(r.credential, StringOption(in, "credential", r.credential));
  if (r.credential.find('/') != std::string::npos || r.credential.empty() || r.credential[0] == '.') {
    return Status::InvalidArgument("input field \"credential\": expected a file name in $CREDENTIALS_DIRECTORY");
  }
  ASSIGN_OR_RETURN(r.key_file, StringOption(in, "key_file", ""));
  ASSIGN_OR_RETURN(r.bucket, StringOption(in, "bucket", r.bucket));
  ASSIGN_OR_RETURN(r.prefix, StringOption(in, "prefix", r.prefix));
  if (!r.prefix.empty() && r.prefix.back() != '/') r.prefix += '/';
  ASSIGN_OR_RETURN(int64_t retries, IntOption(in, "retries", r.retries));
  r.retries = static_cast<int>(std::clamp<int64_t>(retries, 0, 100));
  ASSIGN_OR_RETURN(r.retry_delay_ms, IntOption(in, "retry_delay_ms", r.retry_delay_ms));
  ASSIGN_OR_RETURN(int64_t timeout, IntOption(in, "timeout_seconds", 30));
  r.endpoint.timeout_seconds = static_cast<int>(std::clamp<int64_t>(timeout, 1, 3600));
  return r;
}

Result<SftpSecret> LoadFetchSecret(Fs& fs, const FetchRequest& r, const std::string& credentials_dir) {
  SftpSecret secret;
  std::string text;
  if (!r.key_file.empty()) {
    ASSIGN_OR_RETURN(text, ReadSecretFile(fs, r.key_file, "key file"));
    secret.source = "key file " + r.key_file;
  } else {
    if (credentials_dir.empty()) {
      return Status::InvalidArgument("no SFTP credential: $CREDENTIALS_DIRECTORY is not set (give bucketd "
                                     "LoadCredential=" + r.credential + ":/etc/bucketd/credentials/" +
                                     r.credential + ") and the input names no \"key_file\"");
    }
    std::string path = credentials_dir + "/" + r.credential;
    ASSIGN_OR_RETURN(text, ReadSecretFile(fs, path, "credential"));
    secret.source = "credential " + path;
  }
  if (text.rfind("-----BEGIN", 0) == 0) {
    secret.private_key = std::move(text);
  } else {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty()) return Status::InvalidArgument(secret.source + " is empty");
    secret.password = std::move(text);
  }
  return secret;
}

Result<FetchSummary> RunFetch(const FetchRequest& r, const SftpSecret& secret, store::Store& store,
                              const std::string& state_dir, const FetchHooks& hooks) {
  Fs& fs = store.env().fs();
  RETURN_IF_ERROR(MakeDirs(fs, state_dir + "/fetch", 0700));
  std::string lock_path = state_dir + "/fetch/lock";
  auto opened = fs.OpenAt(AT_FDCWD, lock_path, O_RDWR | O_CREAT, 0600);
  if (!opened.ok()) return Status::IOError("cannot open " + lock_path + ": " + opened.status().message());
  UniqueFd lock = std::move(opened).value();
  // One fetch at a time shares the partial downloads; a second one waits.
  bool said = false;
  while (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (!said) hooks.log("another fetch is running; waiting for it");
    said = true;
    if (!Pause(200, hooks.cancelled)) return Status::Cancelled("cancelled while waiting for another fetch");
  }
  auto bucket = store.HeadBucket(r.bucket);
  if (!bucket.ok()) RETURN_IF_ERROR(store.CreateBucket(r.bucket));

  Fetcher fetcher(r, secret, store, state_dir, hooks);
  int64_t delay = r.retry_delay_ms;
  for (int attempt = 0;; ++attempt) {
    FetchSummary summary;
    Status s = fetcher.Once(&summary);
    if (s.ok()) {
      hooks.log("fetched " + std::to_string(summary.fetched) + " files (" + std::to_string(summary.bytes) +
                " bytes) of " + std::to_string(summary.deliveries) + " deliveries; " +
                std::to_string(summary.present) + " already in the bucket");
      return summary;
    }
    if (s.code() != StatusCode::kUnavailable || attempt >= r.retries) {
      if (attempt > 0) return Status(s.code(), s.message() + " (after " + std::to_string(attempt + 1) + " attempts)");
      return s;
    }
    hooks.log(s.message() + "; retrying in " + std::to_string(delay) + " ms (" + std::to_string(attempt + 1) +
              " of " + std::to_string(r.retries) + " retries)");
    if (!Pause(delay, hooks.cancelled)) return Status::Cancelled("cancelled while waiting to retry: " + s.message());
    delay *= 2;
  }
}

Status FetchStage(runner::StageContext& ctx) {
  ASSIGN_OR_RETURN(nlohmann::json in, ParseStageInput(ctx.input));
  std::string creds = CredentialsDirectory();
  Fs& fs = ctx.store->env().fs();
  ASSIGN_OR_RETURN(FetchRequest r, ParseFetchRequest(fs, in, creds));
  ASSIGN_OR_RETURN(SftpSecret secret, LoadFetchSecret(fs, r, creds));
  FetchHooks hooks;
  hooks.log = ctx.log;
  hooks.cancelled = ctx.cancelled;
  hooks.put = ctx.PutOptions();
  return RunFetch(r, secret, *ctx.store, ctx.state_dir, hooks).status();
}

}  // namespace bucketd::stages
