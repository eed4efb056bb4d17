#include "api/auth.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "common/md5.h"
#include "common/time_format.h"

namespace bucketd::api {
namespace {

constexpr int64_t kMaxSkewNs = 15LL * 60 * 1'000'000'000;
constexpr int64_t kMaxPresignSeconds = 604800;

// "20261201T184112Z" -> Unix nanoseconds; false when it is no such date.
bool ParseAmzDate(const std::string& s, int64_t* ns) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return false;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  struct tm t {};
  t.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  t.tm_mon = std::stoi(s.substr(4, 2)) - 1;
  t.tm_mday = std::stoi(s.substr(6, 2));
  t.tm_hour = std::stoi(s.substr(9, 2));
  t.tm_min = std::stoi(s.substr(11, 2));
  t.tm_sec = std::stoi(s.substr(13, 2));
  if (t.tm_mon > 11 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 || t.tm_sec > 60) {
    return false;
  }
  *ns = static_cast<int64_t>(timegm(&t)) * 1'000'000'000;
  return true;
}

std::string AmzDateOf(int64_t ns) { return FormatUtc(ns, "%Y%m%dT%H%M%SZ"); }

S3Error Error(int status, const char* code, std::string message) { return S3Error::Make(status, code, std::move(message)); }

bool ValidPayloadHash(const std::string& v) {
  if (v == sigv4::kUnsignedPayload || v == sigv4::kStreamingSigned || v == sigv4::kStreamingSignedTrailer ||
      v == sigv4::kStreamingUnsignedTrailer) {
    return true;
  }
  if (v.size() != 64) return false;
  for (char c : v) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The principal and secret of `key_id`: a long-term key, or temporary
// credentials and their session token.
bool FindKey(const http::Request& request, const Target& target, iam::Directory& directory, const std::string& key_id,
             int64_t now_ns, std::pair<iam::Principal, std::string>* found, S3Error* error) {
  const std::string* token = request.Find("x-amz-security-token");
  if (token == nullptr) token = target.Find("X-Amz-Security-Token");
  if (token == nullptr) token = target.Find("x-amz-security-token");
  auto r = token != nullptr ? directory.LookupSession(key_id, *token, now_ns) : directory.Lookup(key_id);
  if (r.ok()) {
    *found = std::move(r).value();
    return true;
  }
  const Status& s = r.status();
  if (s.IsNotFound()) {
    *error = Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
    error->extra = {{"AWSAccessKeyId", key_id}};
  } else if (s.code() == StatusCode::kInvalidArgument) {
    *error = Error(400, "InvalidToken", s.message());
  } else if (s.code() == StatusCode::kPreconditionFailed) {
    *error = Error(400, "ExpiredToken", s.message());
  } else {
    *error = Error(500, "InternalError", "The IAM store cannot be read; see bucketd's log.");
  }
  return false;
}

// The checks both forms share, once the parts are known.
bool Verify(const http::Request& request, const Target& target, iam::Directory& directory, int64_t now_ns,
            const sigv4::Authorization& auth, const std::string& amz_date, const std::string& payload_hash,
            bool presigned, const std::string& service, Authenticated* out, S3Error* error) {
  int64_t signed_at = 0;
  if (!ParseAmzDate(amz_date, &signed_at)) {
    *error = Error(403, "AccessDenied",
                   "AWS authentication requires a valid Date or x-amz-date header (expected YYYYMMDDTHHMMSSZ, got '" +
                       amz_date + "')");
    return false;
  }
  if (auth.scope.date != amz_date.substr(0, 8)) {
    *error = Error(400, presigned ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed",
                   "The authorization header is malformed; Invalid credential date \"" + auth.scope.date +
                       "\". This date is not the same as X-Amz-Date: \"" + amz_date.substr(0, 8) + "\".");
    return false;
  }
  if (auth.scope.service != service) {
    *error = Error(400, presigned ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed",
                   "The authorization header is malformed; incorrect service \"" + auth.scope.service +
                       "\". This endpoint belongs to \"" + service + "\".");
    return false;
  }
  if (!presigned && (signed_at - now_ns > kMaxSkewNs || now_ns - signed_at > kMaxSkewNs)) {
    *error = Error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.");
    error->extra = {{"RequestTime", amz_date}, {"ServerTime", AmzDateOf(now_ns)}, {"MaxAllowedSkewMilliseconds", "900000"}};
    return false;
  }
  if (std::find(auth.signed_headers.begin(), auth.signed_headers.end(), "host") == auth.signed_headers.end()) {
    *error = Error(400, presigned ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed",
                   "The authorization header is malformed; the host header must be signed (SignedHeaders).");
    return false;
  }
  std::pair<iam::Principal, std::string> found;
  if (!FindKey(request, target, directory, auth.access_key_id, now_ns, &found, error)) return false;
  sigv4::Request r{request.method, target.path, {}, {}, auth.scope.service != "s3"};
  for (const auto& [name, value] : target.query) {
    if (!(presigned && name == "X-Amz-Signature")) r.query.emplace_back(name, value);
  }
  for (const http::Header& h : request.headers) r.headers.emplace_back(h.name, h.value);
  auto canonical = sigv4::CanonicalRequest(r, auth.signed_headers, payload_hash);
  if (!canonical.ok()) {
    *error = Error(403, "SignatureDoesNotMatch", canonical.status().message());
    return false;
  }
  std::string to_sign = sigv4::StringToSign(amz_date, auth.scope, *canonical);
  std::string key = sigv4::CachedSigningKey(found.second, auth.scope);
  std::string expected = sigv4::Signature(key, to_sign);
  if (!ConstantTimeEquals(expected, auth.signature)) {
    *error = Error(403, "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you provided. Check your key "
                   "and signing method.");
    error->extra = {{"AWSAccessKeyId", auth.access_key_id},
                    {"StringToSign", to_sign},
                    {"SignatureProvided", auth.signature},
                    {"CanonicalRequest", *canonical}};
    return false;
  }
  if (presigned) {
    const std::string* expires = target.Find("X-Amz-Expires");
    int64_t seconds = -1;
    if (expires != nullptr && !expires->empty() && expires->size() <= 7 &&
        std::all_of(expires->begin(), expires->end(), ::isdigit)) {
      seconds = std::stoll(*expires);
    }
    if (seconds < 1 || seconds > kMaxPresignSeconds) {
      *error = Error(400, "AuthorizationQueryParametersError",
                     "X-Amz-Expires must be a number of seconds from 1 to 604800 (7 days)");
      return false;
    }
    if (now_ns > signed_at + seconds * 1'000'000'000) {
      *error = Error(403, "AccessDenied", "Request has expired");
      error->extra = {{"X-Amz-Expires", *expires}, {"Expires", AmzDateOf(signed_at + seconds * 1'000'000'000)},
                      {"ServerTime", AmzDateOf(now_ns)}};
      return false;
    }
    if (signed_at - now_ns > kMaxSkewNs) {
      *error = Error(403, "AccessDenied", "Request is not valid yet");
      return false;
    }
  }
  out->principal = std::move(found.first);
  out->method = presigned ? "QueryString" : "AuthHeader";
  out->content_sha256 = payload_hash;
  out->signing_key = std::move(key);
  out->scope = auth.scope;
  out->amz_date = amz_date;
  out->seed_signature = auth.signature;
  return true;
}

// Signature version 2 (HMAC-SHA1): what boto3 and the AWS CLI v1 still use
// by default for presigned URLs ("?AWSAccessKeyId=…&Signature=…&Expires=…"),
// and some old clients in the Authorization header ("AWS <key>:<sig>").
constexpr const char* kV2SubResources[] = {
    "accelerate", "acl", "analytics", "cors", "delete", "inventory", "lifecycle", "location", "logging", "metrics",
    "notification", "object-lock", "partNumber", "policy", "replication", "requestPayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language", "response-content-type",
    "response-expires", "restore", "select", "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads",
    "versionId", "versioning", "versions", "website"};

std::string V2StringToSign(const http::Request& request, const Target& target, const std::string& host_bucket,
                           const std::string& date_or_expires) {
  auto header = [&](const char* name) {
    const std::string* v = request.Find(name);
    return v != nullptr ? *v : std::string();
  };
  std::map<std::string, std::string> amz;
  auto add = [&](std::string name, const std::string& value) {
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name.rfind("x-amz-", 0) != 0) return;
    std::string& v = amz[name];
    v += (v.empty() ? "" : ",") + value;
  };
  for (const http::Header& h : request.headers) add(h.name, h.value);
  // A presigned URL carries the x-amz-* headers it was signed with in its
  // query (botocore moves the session token there).
  if (request.Find("authorization") == nullptr) {
    for (const auto& [name, value] : target.query) add(name, value);
  }
  std::string out = request.method + "\n" + header("content-md5") + "\n" + header("content-type") + "\n" +
                    (amz.count("x-amz-date") ? "" : date_or_expires) + "\n";
  for (const auto& [name, value] : amz) out += name + ":" + value + "\n";
  out += (host_bucket.empty() ? "" : "/" + host_bucket) + target.path;
  std::vector<std::pair<std::string, std::string>> sub;
  for (const auto& [name, value] : target.query) {
    if (std::find_if(std::begin(kV2SubResources), std::end(kV2SubResources),
                     [&](const char* s) { return name == s; }) != std::end(kV2SubResources)) {
      sub.emplace_back(name, value);
    }
  }
  std::sort(sub.begin(), sub.end());
  for (size_t i = 0; i < sub.size(); ++i) {
    out += (i == 0 ? "?" : "&") + sub[i].first + (sub[i].second.empty() ? "" : "=" + sub[i].second);
  }
  return out;
}

bool VerifyV2(const http::Request& request, const Target& target, const std::string& host_bucket,
              iam::Directory& directory, int64_t now_ns, const std::string& key_id, const std::string& signature,
              const std::string& date_or_expires, bool presigned, Authenticated* out, S3Error* error) {
  if (presigned) {
    bool digits = !date_or_expires.empty() && date_or_expires.size() <= 12 &&
                  std::all_of(date_or_expires.begin(), date_or_expires.end(), ::isdigit);
    if (!digits) {
      *error = Error(403, "AccessDenied", "Query-string authentication requires Expires as Unix seconds");
      return false;
    }
    if (now_ns / 1'000'000'000 > std::stoll(date_or_expires)) {
      *error = Error(403, "AccessDenied", "Request has expired");
      return false;
    }
  } else {
    const std::string* amz_date = request.Find("x-amz-date");
    auto when = ParseHttpDate(amz_date != nullptr ? *amz_date : date_or_expires);
    if (!when.ok()) {
      *error = Error(403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
      return false;
    }
    if (*when - now_ns > kMaxSkewNs || now_ns - *when > kMaxSkewNs) {
      *error = Error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.");
      return false;
    }
  }
  std::pair<iam::Principal, std::string> found;
  if (!FindKey(request, target, directory, key_id, now_ns, &found, error)) return false;
  std::string to_sign = V2StringToSign(request, target, host_bucket, date_or_expires);
  if (!ConstantTimeEquals(Base64Encode(HmacSha1(found.second, to_sign)), signature)) {
    *error = Error(403, "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you provided. Check your key "
                   "and signing method.");
    error->extra = {{"AWSAccessKeyId", key_id}, {"StringToSign", to_sign}, {"SignatureProvided", signature}};
    return false;
  }
  out->principal = std::move(found.first);
  out->method = presigned ? "QueryString" : "AuthHeader";
  out->content_sha256 = sigv4::kUnsignedPayload;
  out->signature_version = "SigV2";
  return true;
}

}  // namespace

const std::string* Target::Find(std::string_view name) const {
  for (const auto& [n, v] : query) {
    if (n == name) return &v;
  }
  return nullptr;
}

Result<Target> ParseTarget(const std::string& target) {
  Target t;
  size_t q = target.find('?');
  t.path = target.substr(0, q);
  if (t.path.empty() || t.path[0] != '/') {
    return Status::InvalidArgument("the request-target '" + target.substr(0, 200) + "' does not start with '/'");
  }
  if (q == std::string::npos) return t;
  ASSIGN_OR_RETURN(t.query, ParseQuery(std::string_view(target).substr(q + 1), false));
  return t;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view rest, bool plus_is_space) {
  std::vector<std::pair<std::string, std::string>> out;
  auto decode = [&](std::string_view s) {
    std::string text(s);
    if (plus_is_space) std::replace(text.begin(), text.end(), '+', ' ');
    return sigv4::UriDecode(text);
  };
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    ASSIGN_OR_RETURN(std::string name, decode(part.substr(0, eq)));
    std::string value;
    if (eq != std::string_view::npos) {
      ASSIGN_OR_RETURN(value, decode(part.substr(eq + 1)));
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::string SignedService(const http::Request& request, const Target& target) {
  const std::string* header = request.Find("authorization");
  const std::string* credential = target.Find("X-Amz-Credential");
  std::string scope;
  if (header != nullptr && header->rfind(sigv4::kAlgorithm, 0) == 0) {
    size_t at = header->find("Credential=");
    if (at == std::string::npos) return "";
    scope = header->substr(at + 11, header->find_first_of(", ", at) - at - 11);
  } else if (header == nullptr && credential != nullptr) {
    scope = *credential;
  } else {
    return "";
  }
  // KEY/DATE/REGION/SERVICE/aws4_request
  size_t end = scope.rfind('/');
  size_t begin = end == std::string::npos || end == 0 ? std::string::npos : scope.rfind('/', end - 1);
  return begin == std::string::npos ? "" : scope.substr(begin + 1, end - begin - 1);
}

bool Authenticate(const http::Request& request, const Target& target, const std::string& host_bucket,
                  iam::Directory& directory, int64_t now_ns, Authenticated* out, S3Error* error,
                  const AuthExpectation& expect) {
  const std::string* header = request.Find("authorization");
  if (header != nullptr) {
    if (header->rfind("AWS ", 0) == 0) {
      std::string creds = header->substr(4);
      size_t colon = creds.rfind(':');
      if (colon == std::string::npos) {
        *error = Error(400, "InvalidArgument", "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
        return false;
      }
      const std::string* date = request.Find("date");
      return VerifyV2(request, target, host_bucket, directory, now_ns, creds.substr(0, colon), creds.substr(colon + 1),
                      date != nullptr ? *date : "", false, out, error);
    }
    auto auth = sigv4::ParseAuthorization(*header);
    if (!auth.ok()) {
      *error = Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; " + auth.status().message());
      return false;
    }
    const std::string* date = request.Find("x-amz-date");
    std::string amz_date = date != nullptr ? *date : "";
    const std::string* hash = !expect.body_sha256.empty() ? &expect.body_sha256 : request.Find("x-amz-content-sha256");
    if (hash == nullptr) {
      *error = Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
      return false;
    }
    if (!ValidPayloadHash(*hash)) {
      *error = Error(400, "InvalidArgument",
                     "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                     "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid "
                     "sha256 value.");
      return false;
    }
    return Verify(request, target, directory, now_ns, *auth, amz_date, *hash, false, expect.service, out, error);
  }
  if (const std::string* algorithm = target.Find("X-Amz-Algorithm")) {
    if (*algorithm != sigv4::kAlgorithm) {
      *error = Error(400, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
      return false;
    }
    const std::string* credential = target.Find("X-Amz-Credential");
    const std::string* signed_headers = target.Find("X-Amz-SignedHeaders");
    const std::string* signature = target.Find("X-Amz-Signature");
    const std::string* date = target.Find("X-Amz-Date");
    if (!credential || !signed_headers || !signature || !date || !target.Find("X-Amz-Expires")) {
      *error = Error(400, "AuthorizationQueryParametersError",
                     "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                     "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
      return false;
    }
    // The query form carries what the header form would: parse it as one.
    auto auth = sigv4::ParseAuthorization(std::string(sigv4::kAlgorithm) + " Credential=" + *credential +
                                          ", SignedHeaders=" + *signed_headers + ", Signature=" + *signature);
    if (!auth.ok()) {
      *error = Error(400, "AuthorizationQueryParametersError", auth.status().message());
      return false;
    }
    const std::string* hash = target.Find("X-Amz-Content-Sha256");
    return Verify(request, target, directory, now_ns, *auth, *date, hash ? *hash : sigv4::kUnsignedPayload, true,
                  expect.service, out, error);
  }
  if (const std::string* key = target.Find("AWSAccessKeyId")) {
    const std::string* signature = target.Find("Signature");
    const std::string* expires = target.Find("Expires");
    if (signature == nullptr || expires == nullptr) {
      *error = Error(403, "AccessDenied", "Query-string authentication requires the Signature, Expires and "
                                          "AWSAccessKeyId parameters");
      return false;
    }
    return VerifyV2(request, target, host_bucket, directory, now_ns, *key, *signature, *expires, true, out, error);
  }
  *error = Error(403, "AccessDenied", "Anonymous access is not allowed: sign the request with an access key.");
  return false;
}

}  // namespace bucketd::api
