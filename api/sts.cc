// STS on the endpoint: what SDKs call before they use S3 with temporary
// credentials (GetSessionToken) or to ask who they are (GetCallerIdentity,
// `aws sts get-caller-identity`). The Query protocol: a form-encoded POST
// (or GET with the same parameters in the query) signed for service "sts",
// whose body hash the client signs but does not send.
#include <algorithm>

#include "api/s3_call.h"
#include "common/md5.h"
#include "common/time_format.h"
#include "iam/session_token.h"

namespace bucketd::api {
namespace {

constexpr char kStsNamespace[] = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr size_t kMaxStsBody = 64 << 10;

S3Error StsError(int status, const char* code, std::string message) {
  return S3Error::Make(status, code, std::move(message));
}

void Answer(Call& c, const char* action, const std::function<void(pugi::xml_node)>& fill) {
  XmlOut x((std::string(action) + "Response").c_str(), false);
  x.root().append_attribute("xmlns") = kStsNamespace;
  fill(x.root().append_child((std::string(action) + "Result").c_str()));
  AddText(x.root().append_child("ResponseMetadata"), "RequestId", c.request_id);
  http::Response r;
  r.status = 200;
  r.headers = c.Headers();
  r.headers.push_back({"Content-Type", "text/xml"});
  r.headers.push_back({"x-amzn-RequestId", c.request_id});
  (void)c.ex.Respond(r, x.str());
}

void GetCallerIdentity(Call& c) {
  Answer(c, "GetCallerIdentity", [&](pugi::xml_node result) {
    AddText(result, "UserId", c.auth.principal.user_id);
    AddText(result, "Account", c.auth.principal.account);
    AddText(result, "Arn", c.auth.principal.arn);
  });
}

void GetSessionToken(Call& c, const std::vector<std::pair<std::string, std::string>>& params) {
  if (c.auth.principal.session_issued_ns != 0) {
    return c.Fail(StsError(403, "AccessDenied", "Cannot call GetSessionToken with session credentials"));
  }
  int64_t seconds = iam::kDefaultSessionSeconds;
  for (const auto& [name, value] : params) {
    if (name != "DurationSeconds") continue;
    bool digits = !value.empty() && value.size() <= 7 && std::all_of(value.begin(), value.end(), ::isdigit);
    seconds = digits ? std::stoll(value) : -1;
    if (seconds < iam::kMinSessionSeconds || seconds > iam::kMaxSessionSeconds) {
      return c.Fail(StsError(400, "ValidationError",
                             "1 validation error detected: Value '" + value.substr(0, 32) +
                                 "' at 'durationSeconds' failed to satisfy constraint: Member must have value between " +
                                 std::to_string(iam::kMinSessionSeconds) + " and " +
                                 std::to_string(iam::kMaxSessionSeconds)));
    }
  }
  if (c.api.directory.session_key().empty()) {
    return c.Fail(StsError(503, "ServiceUnavailable",
                           "bucketd cannot issue session tokens: it cannot read the store's metadata key"));
  }
  int64_t now = c.api.env.clock().NowNanos();
  iam::SessionClaims claims;
  claims.user_name = c.auth.principal.user_name;
  claims.parent_key_id = c.auth.principal.access_key_id;
  claims.issued_ns = now;
  claims.expires_ns = now + seconds * 1'000'000'000;
  iam::SessionCredentials creds = iam::MintSession(c.api.directory.session_key(), claims, c.api.env.random());
  Answer(c, "GetSessionToken", [&](pugi::xml_node result) {
    pugi::xml_node cr = result.append_child("Credentials");
    AddText(cr, "AccessKeyId", creds.access_key_id);
    AddText(cr, "SecretAccessKey", creds.secret_access_key);
    AddText(cr, "SessionToken", creds.session_token);
    AddText(cr, "Expiration", FormatUtc(creds.expires_ns, "%Y-%m-%dT%H:%M:%SZ"));
  });
}

}  // namespace

std::string StsErrorDocument(const S3Error& e, const std::string& request_id) {
  XmlOut x("ErrorResponse", false);
  x.root().append_attribute("xmlns") = kStsNamespace;
  pugi::xml_node err = x.root().append_child("Error");
  AddText(err, "Type", e.status >= 500 ? "Receiver" : "Sender");
  AddText(err, "Code", e.code);
  AddText(err, "Message", e.message);
  AddText(x.root(), "RequestId", request_id);
  return x.str();
}

void HandleSts(Call& c) {
  c.sts = true;
  c.operation = "";  // STS calls are not data events: not in the trail (docs/api.md)
  std::string body;
  char buf[16 << 10];
  for (;;) {
    auto n = c.ex.ReadBody(buf, sizeof(buf));
    if (!n.ok()) return c.Fail(StsError(400, "IncompleteSignature", "the request body could not be read: " + n.status().message()));
    if (*n == 0) break;
    if (body.size() + *n > kMaxStsBody) {
      return c.Fail(StsError(413, "RequestEntityTooLarge", "an STS request is at most 64 KiB"));
    }
    body.append(buf, *n);
  }
  AuthExpectation expect{"sts", Sha256Hex(body)};
  S3Error error;
  if (!Authenticate(c.req, c.target, "", c.api.directory, c.api.env.clock().NowNanos(), &c.auth, &error, expect)) {
    // STS's codes for what S3 calls these.
    if (error.code == "SignatureDoesNotMatch" || error.code == "InvalidAccessKeyId") {
      error.code = error.code == "InvalidAccessKeyId" ? "InvalidClientTokenId" : "SignatureDoesNotMatch";
      error.extra.clear();
    }
    return c.Fail(std::move(error));
  }
  auto form = ParseQuery(body, true);
  if (!form.ok()) return c.Fail(StsError(400, "MalformedQueryString", form.status().message()));
  std::vector<std::pair<std::string, std::string>> params = c.target.query;
  params.insert(params.end(), form->begin(), form->end());
  std::string action;
  for (const auto& [name, value] : params) {
    if (name == "Action") action = value;
  }
  if (action == "GetCallerIdentity") return GetCallerIdentity(c);
  if (action == "GetSessionToken") return GetSessionToken(c, params);
  c.Fail(StsError(400, "InvalidAction",
                  "Could not find operation " + action.substr(0, 64) +
                      " for version 2011-06-15 (bucketd's STS serves GetSessionToken and GetCallerIdentity)"));
}

}  // namespace bucketd::api
