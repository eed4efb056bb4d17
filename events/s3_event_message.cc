#include "events/s3_event_message.h"

#include "common/md5.h"
#include "common/time_format.h"

namespace bucketd::events {

std::string S3EventKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (unsigned char ch : key) {
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
        ch == '-' || ch == '*' || ch == '/') {
      out.push_back(static_cast<char>(ch));
    } else if (ch == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

std::string S3EventName(const TrailRecord& r) {
  if (r.change.kind == ChangeKind::kRemoved) return "ObjectRemoved:Delete";
  std::string call = r.EventName();
  if (call == "CopyObject") return "ObjectCreated:Copy";
  if (call == "CompleteMultipartUpload") return "ObjectCreated:CompleteMultipartUpload";
  if (call == "PostObject") return "ObjectCreated:Post";
  return "ObjectCreated:Put";
}

nlohmann::json S3EventMessage(const TrailRecord& r, const TrailIdentity& id, const std::string& configuration_id) {
  const ObjectChange& c = r.change;
  nlohmann::json trail = CloudTrailRecord(r, id);
  const nlohmann::json& who = trail["userIdentity"];
  // S3 names an IAM caller "AWS:<principal id>"; a local writer has only its uid.
  std::string principal = who.value("principalId", id.account);
  if (who.value("type", "") == "IAMUser" || who.value("type", "") == "AssumedRole") principal = "AWS:" + principal;
  std::string request_id = trail.value("requestID", r.Sequencer());
  std::string host_id = trail["additionalEventData"].value("x-amz-id-2", "");
  // x-amz-id-2 names the host that served the request; a change noticed on
  // disk had none, so a stable digest of the record stands in.
  if (host_id.empty()) host_id = Sha256Hex(request_id + "/" + r.event_id);
  nlohmann::json object = {{"key", S3EventKey(c.key)}};
  if (c.kind == ChangeKind::kCreated) {
    object["size"] = c.size;
    std::string etag = c.etag;
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    object["eTag"] = etag;
  }
  object["sequencer"] = r.Sequencer();
  nlohmann::json record = {
      {"eventVersion", "2.5"},
      {"eventSource", "aws:s3"},
      {"awsRegion", id.region},
      {"eventTime", FormatRfc3339Millis(r.time_ns)},
      {"eventName", S3EventName(r)},
      {"userIdentity", {{"principalId", principal}}},
      {"requestParameters", {{"sourceIPAddress", trail.value("sourceIPAddress", "127.0.0.1")}}},
      {"responseElements", {{"x-amz-request-id", request_id}, {"x-amz-id-2", host_id}}},
      {"s3",
       {{"s3SchemaVersion", "1.0"},
        {"configurationId", configuration_id},
        {"bucket", {{"name", c.bucket}, {"ownerIdentity", {{"principalId", id.account}}}, {"arn", "arn:aws:s3:::" + c.bucket}}},
        {"object", object}}},
  };
  return {{"Records", nlohmann::json::array({record})}};
}

}  // namespace bucketd::events
