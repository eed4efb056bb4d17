// The fetch stage: downloads the bureau's deliveries over SFTP into
// DATA/RAW_DATA/UKLTD_M_YYYYMM01/ of the bucket.
//
// Input (the rule's Input; no secrets in it — they are refused):
//   "host", "port" (22), "user", "remote_dir" ("/out")
//   "stock": "TRUE" takes every delivery on the server; "FALSE" (default)
//            only those newer than the newest one already in the bucket (the
//            newest on the server when the bucket has none)
//   "known_hosts": the file of trusted host keys (default
//            $CREDENTIALS_DIRECTORY/known_hosts, else /etc/bucketd/known_hosts)
//   "credential": a file name in $CREDENTIALS_DIRECTORY (default "sftp"),
//            holding a private key or a password; or
//   "key_file": a private key file, mode 0600 or stricter, owned by bucketd's user
//   "bucket" ("creditsafedata"), "prefix" ("DATA/RAW_DATA/"),
//   "retries" (4), "retry_delay_ms" (1000, doubling): for network errors only
//
// A file already in the bucket with the remote size is not fetched again.
// Downloads go to <state-dir>/fetch/partial/ and resume from there after an
// interruption; only a complete file (its size checked) is put into the
// store, which makes it appear whole.
#ifndef BUCKETD_STAGES_FETCH_H_
#define BUCKETD_STAGES_FETCH_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "runner/builtin.h"
#include "stages/sftp_client.h"
#include "store/store.h"

namespace bucketd::stages {

struct FetchRequest {
  SftpEndpoint endpoint;
  std::string remote_dir = "/out";
  bool stock = false;
  std::string credential = "sftp";
  std::string key_file;
  std::string bucket = "creditsafedata";
  std::string prefix = "DATA/RAW_DATA/";
  int retries = 4;
  int64_t retry_delay_ms = 1000;
};

// Reads the input; the credentials directory is the daemon's
// $CREDENTIALS_DIRECTORY (empty: none).
Result<FetchRequest> ParseFetchRequest(Fs& fs, const nlohmann::json& input, const std::string& credentials_dir);
// The key or password the request names, refusing files others can read.
Result<SftpSecret> LoadFetchSecret(Fs& fs, const FetchRequest& request, const std::string& credentials_dir);

struct FetchHooks {
  std::function<void(const std::string&)> log;
  // file name, bytes so far, its size
  std::function<void(const std::string&, uint64_t, uint64_t)> progress;
  const std::atomic<bool>* cancelled = nullptr;
  store::PutOptions put;  // for the archives' puts (carries the chain)
};

struct FetchSummary {
  int deliveries = 0, fetched = 0, present = 0;
  uint64_t bytes = 0;
};

Result<FetchSummary> RunFetch(const FetchRequest& request, const SftpSecret& secret, store::Store& store,
                              const std::string& state_dir, const FetchHooks& hooks);

Status FetchStage(runner::StageContext& ctx);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_FETCH_H_
