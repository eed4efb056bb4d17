// Deletes the API endpoint is making, so that the removal the event plane
// then notices is recorded as that API call (its caller, request id) and not
// as an anonymous file removal. Writes need nothing of the kind: their
// caller rides in the new version's sealed metadata (store::ObjectInfo::
// caller), which also survives a crash between the write and its record. A
// delete leaves no file to carry it, so the endpoint notes it here just
// before the unlink; a crash in between loses only the caller (the removal
// is still recorded, by the startup catch-up, as a file removal).
//
// Thread-safety: every method may be called from any thread.
#ifndef BUCKETD_EVENTS_API_DELETES_H_
#define BUCKETD_EVENTS_API_DELETES_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace bucketd::events {

class ApiDeletes {
 public:
  // A note older than this is stale (its delete found nothing, or the plane
  // saw the removal some other way) and is dropped.
  static constexpr int64_t kLifetimeNs = 60'000'000'000;

  void Note(const std::string& bucket, const std::string& key, std::string caller, int64_t now_ns);
  // The delete did not happen after all.
  void Forget(const std::string& bucket, const std::string& key);
  // The caller of the API delete of the key, if one is pending, else "".
  std::string Take(const std::string& bucket, const std::string& key, int64_t now_ns);

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::pair<std::string, int64_t>> pending_;
};

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_API_DELETES_H_
