#include "events/records.h"

#include "common/time_format.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <map>

#include "common/md5.h"

namespace bucketd::events {

namespace {

// getpwuid_r reads /etc/passwd each time; a record is rendered often.
std::string UserName(uint32_t uid) {
  thread_local std::map<uint32_t, std::string> cache;
  auto it = cache.find(uid);
  if (it != cache.end()) return it->second;
  struct passwd pw, *found = nullptr;
  char buf[1024];
  std::string name = std::to_string(uid);
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) name = pw.pw_name;
  if (cache.size() < 1024) cache[uid] = name;
  return name;
}

std::string FormatUuid(const unsigned char b[16]) {
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

// A name-based UUID (MD5, version 3) so derived ids are stable.
std::string DerivedUuid(const std::string& name) {
  Md5 md5;
  md5.Update(name);
  std::string hex = md5.HexDigest();
  unsigned char b[16];
  for (int i = 0; i < 16; ++i) b[i] = static_cast<unsigned char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x30);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return FormatUuid(b);
}

std::string Unquoted(const std::string& etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    return etag.substr(1, etag.size() - 2);
  }
  return etag;
}

}  // namespace

namespace {

// The API call's own fields, when the change came through the endpoint.
nlohmann::json CallerOf(const ObjectChange& c) {
  if (c.caller.empty()) return nlohmann::json::object();
  nlohmann::json j = nlohmann::json::parse(c.caller, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

}  // namespace

std::string TrailRecord::EventName() const {
  nlohmann::json caller = CallerOf(change);
  if (auto name = caller.find("eventName"); name != caller.end() && name->is_string()) return *name;
  return change.kind == ChangeKind::kCreated ? "PutObject" : "DeleteObject";
}

std::string TrailRecord::Sequencer() const {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llX", static_cast<unsigned long long>(seq));
  return buf;
}

std::string NewUuid(Random& random) {
  unsigned char b[16];
  uint64_t a = random.Next(), c = random.Next();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<unsigned char>(a >> (8 * i));
    b[8 + i] = static_cast<unsigned char>(c >> (8 * i));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return FormatUuid(b);
}

std::string Rfc3339Seconds(int64_t unix_nanos) { return FormatUtc(unix_nanos, "%Y-%m-%dT%H:%M:%SZ"); }

nlohmann::json CloudTrailRecord(const TrailRecord& r, const TrailIdentity& id) {
  const ObjectChange& c = r.change;
  bool created = c.kind == ChangeKind::kCreated;
  nlohmann::json user = {{"type", "LocalUser"},
                         {"principalId", std::to_string(c.uid)},
                         {"accountId", id.account},
                         {"userName", UserName(c.uid)}};
  nlohmann::json rec = {
      {"eventVersion", "1.09"},
      {"userIdentity", user},
      {"eventTime", Rfc3339Seconds(r.time_ns)},
      {"eventSource", "s3.amazonaws.com"},
      {"eventName", r.EventName()},
      {"awsRegion", id.region},
      {"sourceIPAddress", "127.0.0.1"},
      {"userAgent", c.user_agent},
      {"requestParameters", {{"bucketName", c.bucket}, {"Host", "localhost"}, {"key", c.key}}},
      {"responseElements", nullptr},
      {"additionalEventData",
       {{"bytesTransferredIn", created ? c.size : 0}, {"bytesTransferredOut", 0}}},
      {"requestID", r.Sequencer()},
      {"eventID", r.event_id},
      {"readOnly", false},
      {"resources",
       {{{"type", "AWS::S3::Object"}, {"ARN", "arn:aws:s3:::" + c.bucket + "/" + c.key}},
        {{"accountId", id.account}, {"type", "AWS::S3::Bucket"}, {"ARN", "arn:aws:s3:::" + c.bucket}}}},
      {"eventType", "AwsApiCall"},
      {"managementEvent", false},
      {"recipientAccountId", id.account},
      {"eventCategory", "Data"},
  };
  if (created) rec["responseElements"] = {{"ETag", Unquoted(c.etag)}};
  // A call through the endpoint says who made it, from where, with which
  // request id; the rest is the change's. A call that changed nothing also
  // says whether it only read and how it failed.
  nlohmann::json caller = CallerOf(c);
  if (c.kind == ChangeKind::kApiCall) {
    rec["additionalEventData"]["bytesTransferredIn"] = 0;
    rec["readOnly"] = caller.value("readOnly", false);
  }
  for (const char* field : {"userIdentity", "sourceIPAddress", "userAgent", "requestID", "tlsDetails", "errorCode",
                            "errorMessage"}) {
    if (caller.contains(field)) rec[field] = caller[field];
  }
  if (caller.contains("additionalEventData")) rec["additionalEventData"].update(caller["additionalEventData"]);
  if (caller.contains("requestParameters")) rec["requestParameters"].update(caller["requestParameters"]);
  return rec;
}

std::vector<nlohmann::json> EventBridgeEvents(const TrailRecord& r, const TrailIdentity& id) {
  const ObjectChange& c = r.change;
  bool created = c.kind == ChangeKind::kCreated;
  std::string time = Rfc3339Seconds(r.time_ns);
  nlohmann::json trail_shape = {
      {"version", "0"},
      {"id", DerivedUuid(r.event_id + "/cloudtrail")},
      {"detail-type", "AWS API Call via CloudTrail"},
      {"source", "aws.s3"},
      {"account", id.account},
      {"time", time},
      {"region", id.region},
      {"resources", nlohmann::json::array()},
      {"detail", CloudTrailRecord(r, id)},
  };
  if (c.kind == ChangeKind::kApiCall) return {trail_shape};
  nlohmann::json caller = CallerOf(c);
  nlohmann::json object = {{"key", c.key}, {"sequencer", r.Sequencer()}};
  if (created) {
    object["size"] = c.size;
    object["etag"] = Unquoted(c.etag);
  }
  nlohmann::json detail = {{"version", "0"},
                           {"bucket", {{"name", c.bucket}}},
                           {"object", object},
                           {"request-id", caller.value("requestID", r.Sequencer())},
                           {"requester", id.account},
                           {"source-ip-address", caller.value("sourceIPAddress", "127.0.0.1")},
                           {"reason", r.EventName()}};
  if (!created) detail["deletion-type"] = "Permanently Deleted";
  nlohmann::json s3_shape = {
      {"version", "0"},
      {"id", DerivedUuid(r.event_id + "/s3")},
      {"detail-type", created ? "Object Created" : "Object Deleted"},
      {"source", "aws.s3"},
      {"account", id.account},
      {"time", time},
      {"region", id.region},
      {"resources", {"arn:aws:s3:::" + c.bucket}},
      {"detail", detail},
  };
  return {trail_shape, s3_shape};
}

}  // namespace bucketd::events
