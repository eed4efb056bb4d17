#include "api/s3_api.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "api/s3_call.h"
#include "api/xml.h"
#include "common/time_format.h"
#include "iam/policy.h"
#include "sigv4/sigv4.h"

namespace bucketd::api {
namespace {

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llX", static_cast<unsigned long long>(v));
  return buf;
}

// The bucket a virtual-hosted request names in its Host ("b.localhost:4566").
std::string HostBucket(const http::Request& r, const std::vector<std::string>& domains) {
  const std::string* host = r.Find("host");
  if (host == nullptr) return "";
  std::string h = host->substr(0, host->rfind(':') == std::string::npos || host->front() == '[' ? host->size()
                                                                                                 : host->rfind(':'));
  for (char& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const std::string& d : domains) {
    if (h.size() > d.size() + 1 && h.ends_with("." + d)) return h.substr(0, h.size() - d.size() - 1);
  }
  return "";
}

// The operation a request names: method, what it addresses, subresource.
void Dispatch(Call& c) {
  const std::string& m = c.req.method;
  if (c.bucket.empty()) {
    if (m == "GET") return ListBuckets(c);
    return c.Fail(S3Error::Make(405, "MethodNotAllowed", "The specified method is not allowed against this resource."));
  }
  if (c.key.empty()) {
    if (m == "PUT" && c.target.query.empty()) return CreateBucket(c);
    if (m == "PUT" && c.Has("notification")) return PutBucketNotificationConfiguration(c);
    if (m == "DELETE" && c.target.query.empty()) return DeleteBucket(c);
    if (m == "HEAD") return HeadBucket(c);
    if (m == "POST" && c.Has("delete")) return DeleteObjects(c);
    if (m == "GET") {
      if (c.Has("location")) return GetBucketLocation(c);
      if (c.Has("versioning")) return GetBucketVersioning(c);
      if (c.Has("versions")) return ListObjectVersions(c);
      if (c.Has("notification")) return GetBucketNotificationConfiguration(c);
      if (c.Has("uploads")) return ListMultipartUploads(c);
      bool v2 = c.Query("list-type") != nullptr && *c.Query("list-type") == "2";
      static constexpr const char* kListParams[] = {"list-type", "prefix", "delimiter", "marker", "max-keys",
                                                    "encoding-type", "continuation-token", "start-after",
                                                    "fetch-owner", "x-id"};
      bool listing = true;
      for (const auto& [name, value] : c.target.query) {
        bool known = std::find_if(std::begin(kListParams), std::end(kListParams),
                                  [&](const char* p) { return name == p; }) != std::end(kListParams);
        if (!known && name.rfind("X-Amz-", 0) != 0) listing = false;
      }
      if (listing) return ListObjects(c, v2);
    }
  } else {
    if (m == "PUT" && c.Has("partNumber") && c.Has("uploadId")) return UploadPart(c);
    if (m == "PUT" && c.Has("tagging")) return PutObjectTagging(c);
    if (m == "GET" && c.Has("tagging")) return GetObjectTagging(c);
    if (m == "DELETE" && c.Has("tagging")) return DeleteObjectTagging(c);
    if (m == "PUT" && c.Header("x-amz-copy-source") != nullptr && !c.Has("tagging")) return CopyObject(c);
    if (m == "PUT" && !c.Has("tagging") && !c.Has("acl") && !c.Has("retention")) return PutObject(c);
    if ((m == "GET" || m == "HEAD") && c.Has("uploadId")) return ListParts(c);
    if ((m == "GET" || m == "HEAD") && !c.Has("tagging") && !c.Has("acl") && !c.Has("attributes")) {
      return GetObject(c, m == "HEAD");
    }
    if (m == "DELETE" && c.Has("uploadId")) return AbortMultipartUpload(c);
    if (m == "DELETE" && !c.Has("tagging")) return DeleteObject(c);
    if (m == "POST" && c.Has("uploads")) return CreateMultipartUpload(c);
    if (m == "POST" && c.Has("uploadId")) return CompleteMultipartUpload(c);
  }
  c.Fail(S3Error::Make(501, "NotImplemented",
                       "A header or query you provided implies functionality that bucketd does not implement (" + m +
                           " " + c.req.target.substr(0, 200) + "); see docs/api.md."));
}

}  // namespace

S3Api::S3Api(Env& env, store::Store& store, iam::Directory& directory, events::ApiDeletes* deletes,
             S3ApiOptions options)
    : impl_(std::make_unique<Impl>(env, store, directory, deletes, std::move(options))) {
  impl_->instance = env.random().Next();
}

S3Api::~S3Api() = default;

void S3Api::Handle(http::Exchange& exchange) {
  Impl& api = *impl_;
  uint64_t n = api.requests.fetch_add(1) + 1;
  Call c{api, exchange, exchange.request(), {}, Hex16(api.instance ^ (n * 0x9E3779B97F4A7C15ull)),
         Hex16(n) + Hex16(api.instance), "", "", {}, "", "", "", 0};
  try {
    auto target = ParseTarget(c.req.target);
    if (!target.ok()) {
      return c.Fail(S3Error::Make(400, "InvalidURI", "Couldn't parse the specified URI: " + target.status().message()));
    }
    c.target = std::move(*target);
    // Path-style "/bucket/key", or virtual-hosted "bucket.localhost/key".
    auto path = sigv4::UriDecode(c.target.path);
    if (!path.ok()) return c.Fail(S3Error::Make(400, "InvalidURI", "Couldn't parse the specified URI."));
    std::string rest = path->substr(1);
    std::string host_bucket = HostBucket(c.req, api.options.virtual_host_domains);
    c.bucket = host_bucket;
    if (c.bucket.empty()) {
      size_t slash = rest.find('/');
      c.bucket = rest.substr(0, slash);
      c.key = slash == std::string::npos ? "" : rest.substr(slash + 1);
    } else {
      c.key = rest;
    }
    std::string service = SignedService(c.req, c.target);
    if (service == "sts") return HandleSts(c);
    if (service == "lambda") return HandleLambda(c);
    S3Error error;
    if (!Authenticate(c.req, c.target, host_bucket, api.directory, api.env.clock().NowNanos(), &c.auth, &error)) {
      if (api.options.log_warning && error.code != "AccessDenied") {
        api.options.log_warning("S3 request " + c.request_id + " from " + c.req.remote_ip + " (" + c.req.method +
                                " " + c.req.target.substr(0, 200) + ") refused: " + error.code + ": " + error.message);
      }
      error.resource = c.target.path;
      return c.Fail(std::move(error));
    }
    if (!c.bucket.empty()) {
      if (Status valid = store::ValidateBucketName(c.bucket); !valid.ok()) {
        // A name S3 would never have made: no such bucket (and no path).
        auto e = S3Error::Make(c.req.method == "PUT" && c.key.empty() ? 400 : 404,
                               c.req.method == "PUT" && c.key.empty() ? "InvalidBucketName" : "NoSuchBucket",
                               c.req.method == "PUT" && c.key.empty() ? "The specified bucket is not valid. " + valid.message()
                                                                      : "The specified bucket does not exist");
        return c.Fail(std::move(e));
      }
    }
    if (!c.key.empty()) {
      if (Status valid = store::ValidateKey(c.key); !valid.ok()) {
        return c.Fail(S3Error::Make(400, "InvalidArgument", valid.message()));
      }
    }
    Dispatch(c);
  } catch (const std::exception& e) {
    if (api.options.log_warning) api.options.log_warning("S3 request " + c.request_id + " failed: " + e.what());
    if (!exchange.responded()) c.Fail(S3Error());
  }
  try {
    c.RecordCall();
  } catch (const std::exception& e) {
    if (api.options.log_warning) api.options.log_warning("S3 request " + c.request_id + ": not recorded: " + e.what());
  }
}

std::vector<http::Header> Call::Headers() const {
  return {{"x-amz-request-id", request_id},
          {"x-amz-id-2", host_id},
          {"Date", FormatHttpDate(api.env.clock().NowNanos())},
          {"Server", "bucketd"}};
}

void Call::Fail(S3Error e) {
  if (ex.responded()) return;
  error_code = e.code;
  error_message = e.message;
  if (lambda) return FailLambda(*this, e);
  http::Response r;
  r.status = e.status;
  r.headers = Headers();
  if (e.resource.empty()) e.resource = target.path;
  if (req.method == "HEAD") {
    // No body on HEAD: the code travels in a header only bucketd sends.
    r.headers.push_back({"x-amz-error-code", e.code});
    (void)ex.StartBody(r, 0);
    return;
  }
  r.headers.push_back({"Content-Type", sts ? "text/xml" : "application/xml"});
  (void)ex.Respond(r, sts ? StsErrorDocument(e, request_id) : ErrorDocument(e, request_id));
}

void Call::FailStore(const Status& s) {
  S3Error e = FromStoreStatus(s, bucket, key);
  if (e.code == "InternalError" && api.options.log_warning) {
    api.options.log_warning("S3 request " + request_id + " (" + operation + " " + bucket + "/" + key +
                            ") failed: " + s.ToString());
  }
  Fail(std::move(e));
}

void Call::Xml(int status, const std::string& body, std::vector<http::Header> extra) {
  http::Response r;
  r.status = status;
  r.headers = Headers();
  r.headers.push_back({"Content-Type", "application/xml"});
  for (auto& h : extra) r.headers.push_back(std::move(h));
  (void)ex.Respond(r, body);
}

void Call::Empty(int status, std::vector<http::Header> extra) {
  http::Response r;
  r.status = status;
  r.headers = Headers();
  for (auto& h : extra) r.headers.push_back(std::move(h));
  (void)ex.Respond(r, "");
}

bool Call::Permits(const std::string& action, const std::string& resource,
                   const std::map<std::string, std::string>& context) const {
  iam::AuthzRequest r{action, resource, context};
  r.context["aws:SourceIp"] = req.remote_ip;
  // IAM sets aws:username for users only; a role's session has none.
  if (auth.principal.type == "IAMUser") r.context["aws:username"] = auth.principal.user_name;
  r.context["aws:userid"] = auth.principal.user_id;
  // A role's session is, to conditions, its role.
  r.context["aws:PrincipalArn"] = auth.principal.type == "AssumedRole" ? auth.principal.role_arn : auth.principal.arn;
  r.context["aws:SecureTransport"] = req.tls ? "true" : "false";
  std::vector<const nlohmann::json*> policies;
  for (const auto& p : auth.principal.policies) policies.push_back(p.get());
  return iam::Evaluate(policies, r) == iam::Decision::kAllow;
}

bool Call::Allowed(const std::string& action, const std::string& resource,
                   const std::map<std::string, std::string>& context) {
  if (Permits(action, resource, context)) return true;
  if (api.options.log_warning) {
    api.options.log_warning("S3 request " + request_id + ": " + auth.principal.arn + " may not " + action + " on " +
                            resource + " (AccessDenied)");
  }
  Fail(S3Error::Make(403, "AccessDenied", "User: " + auth.principal.arn + " is not authorized to perform: " + action +
                                              " on resource: \"" + resource + "\" because no identity-based policy "
                                              "allows the " + action + " action"));
  return false;
}

std::string Call::Caller(const std::string& event_name, uint64_t bytes_in) const {
  return CallerFields(event_name, bytes_in).dump();
}

nlohmann::json Call::CallerFields(const std::string& event_name, uint64_t bytes_in) const {
  const std::string* ua = req.Find("user-agent");
  nlohmann::json j = {
      {"userIdentity",
       {{"type", "IAMUser"},
        {"principalId", auth.principal.user_id},
        {"arn", auth.principal.arn},
        {"accountId", auth.principal.account},
        {"accessKeyId", auth.principal.access_key_id},
        {"userName", auth.principal.user_name}}},
      {"sourceIPAddress", req.remote_ip},
      {"userAgent", ua != nullptr ? ua->substr(0, 1024) : ""},
      {"requestID", request_id},
      {"eventName", event_name},
      {"additionalEventData",
       {{"SignatureVersion", auth.signature_version},
        {"AuthenticationMethod", auth.method},
        {"x-amz-id-2", host_id},
        {"bytesTransferredIn", bytes_in},
        {"bytesTransferredOut", 0}}},
  };
  const iam::Principal& p = auth.principal;
  if (p.session_issued_ns != 0) {
    j["userIdentity"]["sessionContext"] = {
        {"attributes",
         {{"creationDate", FormatUtc(p.session_issued_ns, "%Y-%m-%dT%H:%M:%SZ")}, {"mfaAuthenticated", "false"}}}};
  }
  if (p.type == "AssumedRole") {
    // CloudTrail names a role's session by its ARN; the role is its issuer.
    j["userIdentity"]["type"] = p.type;
    j["userIdentity"].erase("userName");
    j["userIdentity"]["sessionContext"]["sessionIssuer"] = {{"type", "Role"},
                                                             {"principalId", p.role_id},
                                                             {"arn", p.role_arn},
                                                             {"accountId", p.account},
                                                             {"userName", p.role_name}};
  }
  if (req.tls) {
    const std::string* host = req.Find("host");
    j["tlsDetails"] = {{"tlsVersion", req.tls_version},
                       {"cipherSuite", req.tls_cipher},
                       {"clientProvidedHostHeader", host != nullptr ? host->substr(0, 256) : ""}};
  }
  return j;
}

void Call::RecordCall() {
  if (api.options.calls == nullptr || operation.empty() || auth.principal.arn.empty()) return;
  static constexpr std::string_view kReads[] = {"GetObject", "HeadObject", "ListObjects", "ListObjectsV2",
                                                "ListObjectVersions", "ListParts", "ListMultipartUploads",
                                                "GetObjectTagging"};
  static constexpr std::string_view kWrites[] = {"PutObject", "CopyObject", "DeleteObject", "DeleteObjects",
                                                 "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
                                                 "AbortMultipartUpload", "PutObjectTagging", "DeleteObjectTagging"};
  bool read = std::find(std::begin(kReads), std::end(kReads), operation) != std::end(kReads);
  bool write = std::find(std::begin(kWrites), std::end(kWrites), operation) != std::end(kWrites);
  // A write that worked is recorded as the change it made, by the event
  // plane; tagging changes no version, so its call is the record.
  bool tagging = operation == "PutObjectTagging" || operation == "DeleteObjectTagging";
  if (!(read || (write && (!error_code.empty() || tagging)))) return;
  const std::string* prefix = Query("prefix");
  std::string arn = key.empty() ? BucketArn() + "/" + (prefix ? *prefix : "") : ObjectArn();
  if (read && !api.selectors.RecordsReadOf(arn)) return;
  nlohmann::json fields = CallerFields(operation, 0);
  fields["readOnly"] = read;
  fields["additionalEventData"]["bytesTransferredOut"] = bytes_out;
  if (!error_code.empty()) {
    fields["errorCode"] = error_code;
    fields["errorMessage"] = error_message;
  }
  if (prefix != nullptr) fields["requestParameters"]["prefix"] = *prefix;
  events::ObjectChange call;
  call.kind = events::ChangeKind::kApiCall;
  call.bucket = bucket;
  call.key = key;
  call.user_agent = "bucketd/api";
  call.caller = fields.dump();
  api.options.calls->Add(std::move(call));
}

bool Call::Writable() {
  if (bucket != api.options.trail_bucket) return true;
  Fail(S3Error::Make(403, "AccessDenied", "bucket '" + bucket + "' is bucketd's trail: it is written by bucketd only"));
  return false;
}

}  // namespace bucketd::api
