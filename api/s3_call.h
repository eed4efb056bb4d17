// Inside the S3 API: one request being answered (Call), and the operations,
// each a function of it. Not part of api/'s public face.
#ifndef BUCKETD_API_S3_CALL_H_
#define BUCKETD_API_S3_CALL_H_

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/event_selectors.h"
#include "api/s3_api.h"
#include "api/s3_error.h"
#include "api/xml.h"
#include "http/server.h"

namespace bucketd::api {

struct S3Api::Impl {
  Impl(Env& e, store::Store& s, iam::Directory& d, events::ApiDeletes* del, S3ApiOptions o)
      : env(e), store(s), directory(d), deletes(del), options(std::move(o)),
        selectors(e, options.event_selectors_file, options.log_warning) {}
  Env& env;
  store::Store& store;
  iam::Directory& directory;
  events::ApiDeletes* deletes;
  S3ApiOptions options;
  SelectorsFile selectors;
  std::atomic<uint64_t> requests{0};
  uint64_t instance = 0;  // random, so request ids differ across restarts
};

struct Call {
  S3Api::Impl& api;
  http::Exchange& ex;
  const http::Request& req;
  Target target;
  std::string request_id;
  std::string host_id;
  std::string bucket;  // decoded; empty for the service
  std::string key;     // decoded; empty for a bucket request
  Authenticated auth;
  std::string operation;  // "PutObject", for logs and records
  std::string error_code, error_message;  // of the error answered, if one was
  uint64_t bytes_out = 0;                 // object bytes sent
  bool sts = false;                       // an STS call: its errors in STS's XML
  bool lambda = false;                    // a Lambda call: its errors in Lambda's JSON

  const std::string* Header(std::string_view lower_name) const { return req.Find(lower_name); }
  const std::string* Query(std::string_view name) const { return target.Find(name); }
  bool Has(std::string_view name) const { return target.Find(name) != nullptr; }

  // The headers every answer carries (request ids, Date, Server).
  std::vector<http::Header> Headers() const;
  void Fail(S3Error e);
  void FailStore(const Status& s);
  void Xml(int status, const std::string& body, std::vector<http::Header> extra = {});
  void Empty(int status, std::vector<http::Header> extra = {});
  // IAM: false (after answering AccessDenied) unless the caller's policies
  // allow `action` on `resource`.
  bool Allowed(const std::string& action, const std::string& resource,
               const std::map<std::string, std::string>& context = {});
  // The same decision, without answering (DeleteObjects' per-key errors).
  bool Permits(const std::string& action, const std::string& resource,
               const std::map<std::string, std::string>& context = {}) const;
  std::string ObjectArn() const { return "arn:aws:s3:::" + bucket + "/" + key; }
  std::string BucketArn() const { return "arn:aws:s3:::" + bucket; }
  // The CloudTrail fields of this call, for the records of what it changes.
  std::string Caller(const std::string& event_name, uint64_t bytes_in) const;
  nlohmann::json CallerFields(const std::string& event_name, uint64_t bytes_in) const;
  // Records the call itself when it changed no object but belongs in the
  // trail: a read the event selectors ask for, or a write that failed (its
  // errorCode, as CloudTrail records a denied PutObject).
  void RecordCall();
  // Writes are refused on bucketd's own trail bucket.
  bool Writable();
};

// Service and bucket operations (s3_buckets.cc).
void ListBuckets(Call& c);
void CreateBucket(Call& c);
void DeleteBucket(Call& c);
void HeadBucket(Call& c);
void GetBucketLocation(Call& c);
void ListObjects(Call& c, bool v2);
void ListObjectVersions(Call& c);
void GetBucketVersioning(Call& c);

// Object operations (s3_objects.cc).
void PutObject(Call& c);
void GetObject(Call& c, bool head);
void DeleteObject(Call& c);
void DeleteObjects(Call& c);
void CopyObject(Call& c);

// Object tagging (s3_tagging.cc). TagsFromHeader reads x-amz-tagging (and
// checks s3:PutObjectTagging); false after answering an error.
void PutObjectTagging(Call& c);
void GetObjectTagging(Call& c);
void DeleteObjectTagging(Call& c);
bool TagsFromHeader(Call& c, std::map<std::string, std::string>* tags);

// Bucket notification configurations (s3_notifications.cc).
void PutBucketNotificationConfiguration(Call& c);
void GetBucketNotificationConfiguration(Call& c);

// STS on the same endpoint (sts.cc): GetSessionToken and
// GetCallerIdentity, for requests whose credential scope names "sts".
void HandleSts(Call& c);
// STS's <ErrorResponse> for `e`.
std::string StsErrorDocument(const S3Error& e, const std::string& request_id);

// Lambda's Invoke on the same endpoint (lambda_api.cc), for requests whose
// credential scope names "lambda".
void HandleLambda(Call& c);
// Lambda's error answer: {"Type", "message"} with x-amzn-ErrorType.
void FailLambda(Call& c, const S3Error& e);

// Multipart uploads (s3_multipart.cc).
void CreateMultipartUpload(Call& c);
void UploadPart(Call& c);
void CompleteMultipartUpload(Call& c);
void AbortMultipartUpload(Call& c);
void ListParts(Call& c);
void ListMultipartUploads(Call& c);

// The source x-amz-copy-source names (CopyObject, UploadPartCopy), which the
// caller may read; false after answering an error.
bool CopySourceOf(Call& c, std::string* src_bucket, std::string* src_key);
// x-amz-copy-source-if-* on the source; false after answering PreconditionFailed.
bool CopySourceConditionsHold(Call& c, const store::ObjectInfo& source);

// The stored-object metadata a put takes from the request's headers
// (Content-Type, x-amz-meta-*, Cache-Control, …); false after answering an error.
bool PutOptionsFromHeaders(Call& c, store::PutOptions* options);
// Reads a small XML request body whole (at most `limit` bytes), checking
// Content-MD5 / x-amz-checksum-*; false after answering an error.
bool ReadSmallBody(Call& c, size_t limit, std::string* body);
// ReadSmallBody, parsed, whose root element must be `root`; false after
// answering MalformedXML.
bool ReadXmlBody(Call& c, size_t limit, const char* root, pugi::xml_document* doc, pugi::xml_node* node);

}  // namespace bucketd::api

#endif  // BUCKETD_API_S3_CALL_H_
