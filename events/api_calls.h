// API calls that change no object but belong in the trail: reads the event
// selectors ask for (GetObject, HeadObject, ListObjects…) and refused or
// failed writes (AccessDenied on a PutObject, as CloudTrail records them with
// errorCode). The endpoint's workers add them; the event plane, on the main
// loop, takes them into its batch as ChangeKind::kApiCall records (a
// sequence number, rules in the "AWS API Call via CloudTrail" shape, no
// effect on the object index).
//
// Bounded: past kMaxPending waiting calls (the trail cannot append, e.g.
// the disk is full) new ones are dropped and counted, never queued without
// end; the count is logged once appends work again.
//
// Thread-safety: every method may be called from any thread.
#ifndef BUCKETD_EVENTS_API_CALLS_H_
#define BUCKETD_EVENTS_API_CALLS_H_

#include <cstdint>
#include <mutex>
#include <vector>

#include "common/unique_fd.h"
#include "events/records.h"

namespace bucketd::events {

class ApiCalls {
 public:
  static constexpr size_t kMaxPending = 100'000;

  ApiCalls();
  // `call.kind` is kApiCall; `call.caller` the call's CloudTrail fields.
  void Add(ObjectChange call);
  // Readable while calls wait (an eventfd).
  int wake_fd() const { return wake_.get(); }
  // Every waiting call, oldest first, and how many were dropped since the
  // last Take.
  std::vector<ObjectChange> Take(uint64_t* dropped);
  // Calls taken whose append failed go back before the waiting ones.
  void Requeue(std::vector<ObjectChange> calls);

 private:
  UniqueFd wake_;
  std::mutex mu_;
  std::vector<ObjectChange> pending_;
  uint64_t dropped_ = 0;
};

}  // namespace bucketd::events

#endif  // BUCKETD_EVENTS_API_CALLS_H_
