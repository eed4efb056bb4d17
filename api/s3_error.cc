#include "api/s3_error.h"

#include "api/xml.h"

namespace bucketd::api {

S3Error FromStoreStatus(const Status& s, const std::string& bucket, const std::string& key) {
  S3Error e;
  const std::string& m = s.message();
  switch (s.code()) {
    case StatusCode::kNotFound:
      // The store names the key when the key is missing, only the bucket when that is.
      if (key.empty() || m.find("key") == std::string::npos) {
        e = S3Error::Make(404, "NoSuchBucket", "The specified bucket does not exist");
      } else {
        e = S3Error::Make(404, "NoSuchKey", "The specified key does not exist.");
      }
      break;
    case StatusCode::kAlreadyExists:
      if (key.empty() && m.find("not empty") != std::string::npos) {
        e = S3Error::Make(409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
      } else if (key.empty()) {
        e = S3Error::Make(409, "BucketAlreadyOwnedByYou",
                          "Your previous request to create the named bucket succeeded and you already own it.");
      } else {
        // A key whose path needs a directory where an object is (or the
        // reverse): a local limit S3 does not have (docs/keys.md).
        e = S3Error::Make(409, "KeyConflict", m);
      }
      break;
    case StatusCode::kPreconditionFailed:
      e = S3Error::Make(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
      break;
    case StatusCode::kInvalidArgument:
      if (m.find("bucket name") != std::string::npos || m.find("bucket '") == 0) {
        e = S3Error::Make(400, "InvalidBucketName", "The specified bucket is not valid. " + m);
      } else if (m.find("range") != std::string::npos || m.find("Range") != std::string::npos) {
        e = S3Error::Make(416, "InvalidRange", "The requested range is not satisfiable");
      } else if (m.find("metadata") != std::string::npos && m.find("2 KB") != std::string::npos) {
        e = S3Error::Make(400, "MetadataTooLarge", m);
      } else if (m.find("itself") != std::string::npos) {
        e = S3Error::Make(400, "InvalidRequest", "This copy request is illegal because it is trying to copy an "
                                                  "object to itself without changing the object's metadata, storage "
                                                  "class, website redirect location or encryption attributes.");
      } else {
        e = S3Error::Make(400, "InvalidArgument", m);
      }
      break;
    case StatusCode::kPermissionDenied:
      e = S3Error::Make(403, "AccessDenied", "Access Denied");
      break;
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
      e = S3Error::Make(503, "SlowDown", m);
      break;
    default:
      break;  // InternalError; the message stays generic, the log has the cause
  }
  e.resource = "/" + bucket + (key.empty() ? "" : "/" + key);
  return e;
}

std::string ErrorDocument(const S3Error& e, const std::string& request_id) {
  XmlOut x("Error", false);
  AddText(x.root(), "Code", e.code);
  AddText(x.root(), "Message", e.message);
  for (const auto& [name, value] : e.extra) AddText(x.root(), name.c_str(), value);
  if (!e.resource.empty()) AddText(x.root(), "Resource", e.resource);
  AddText(x.root(), "RequestId", request_id);
  return x.str();
}

}  // namespace bucketd::api
