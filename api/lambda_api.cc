// Lambda's Invoke on the endpoint, so `aws lambda invoke --endpoint-url …`
// and boto3's lambda client reach bucketd's functions: REST-JSON, signed for
// service "lambda" (the body's hash signed, not sent), authorized as
// lambda:InvokeFunction on the function's ARN. The invocation itself is the
// runner's (S3ApiOptions::invoke).
#include "api/s3_call.h"
#include "common/md5.h"
#include "common/time_format.h"
#include "rules/rule.h"

namespace bucketd::api {
namespace {

constexpr std::string_view kInvokePrefix = "/2015-03-31/functions/";
constexpr size_t kMaxSyncPayload = 6 << 20;   // Lambda's limits
constexpr size_t kMaxAsyncPayload = 256 << 10;

S3Error LambdaError(int status, const char* type, std::string message) {
  return S3Error::Make(status, type, std::move(message));
}

}  // namespace

void FailLambda(Call& c, const S3Error& e) {
  http::Response r;
  r.status = e.status;
  r.headers = {{"x-amzn-RequestId", c.request_id},
               {"x-amzn-ErrorType", e.code},
               {"Content-Type", "application/json"},
               {"Date", FormatHttpDate(c.api.env.clock().NowNanos())},
               {"Server", "bucketd"}};
  nlohmann::json body = {{"Type", e.status >= 500 ? "Service" : "User"}, {"message", e.message}};
  (void)c.ex.Respond(r, body.dump());
}

void HandleLambda(Call& c) {
  c.lambda = true;
  c.operation = "";  // management and invoke calls are not S3 data events: not in the trail
  std::string body;
  char buf[64 << 10];
  for (;;) {
    auto n = c.ex.ReadBody(buf, sizeof(buf));
    if (!n.ok()) return c.Fail(LambdaError(400, "InvalidRequestContentException", "the request body could not be read"));
    if (*n == 0) break;
    if (body.size() + *n > kMaxSyncPayload) {
      return c.Fail(LambdaError(413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the "
                                                                 "InvokeFunction operation"));
    }
    body.append(buf, *n);
  }
  S3Error error;
  AuthExpectation expect{"lambda", Sha256Hex(body)};
  if (!Authenticate(c.req, c.target, "", c.api.directory, c.api.env.clock().NowNanos(), &c.auth, &error, expect)) {
    // Lambda's names for what S3 calls these.
    if (error.code == "InvalidAccessKeyId") error.code = "UnrecognizedClientException";
    if (error.code == "SignatureDoesNotMatch") error.code = "InvalidSignatureException";
    if (error.code == "AccessDenied") error.code = "AccessDeniedException";
    return c.Fail(std::move(error));
  }
  auto path = sigv4::UriDecode(c.target.path);
  std::string p = path.ok() ? *path : "";
  constexpr std::string_view kSuffix = "/invocations";
  if (c.req.method != "POST" || p.rfind(kInvokePrefix, 0) != 0 || p.size() <= kInvokePrefix.size() + kSuffix.size() ||
      p.compare(p.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return c.Fail(LambdaError(404, "UnknownOperationException",
                              "bucketd's Lambda API serves Invoke (POST /2015-03-31/functions/NAME/invocations); not " +
                                  c.req.method + " " + p.substr(0, 200)));
  }
  std::string function = p.substr(kInvokePrefix.size(), p.size() - kInvokePrefix.size() - kSuffix.size());
  std::string name = function.rfind("arn:", 0) == 0 ? rules::LambdaFunctionName(function) : function;
  std::string arn = "arn:aws:lambda:" + c.api.options.region + ":" + c.api.options.account + ":function:" + name;
  if (name.empty() || name.find('/') != std::string::npos) {
    return c.Fail(LambdaError(400, "InvalidParameterValueException", "FunctionName '" + function.substr(0, 140) +
                                                                         "': expected a function's name or ARN"));
  }
  if (!c.Permits("lambda:InvokeFunction", arn)) {
    return c.Fail(LambdaError(403, "AccessDeniedException",
                              "User: " + c.auth.principal.arn + " is not authorized to perform: "
                              "lambda:InvokeFunction on resource: " + arn + " because no identity-based policy "
                              "allows the lambda:InvokeFunction action"));
  }
  if (!c.api.options.invoke) {
    return c.Fail(LambdaError(503, "ServiceException", "this bucketd runs no functions"));
  }
  LambdaInvoke request;
  request.function = name;
  const std::string* type = c.Header("x-amz-invocation-type");
  request.type = type != nullptr ? *type : "RequestResponse";
  request.payload = std::move(body);
  if (request.type == "Event" && request.payload.size() > kMaxAsyncPayload) {
    return c.Fail(LambdaError(413, "RequestTooLargeException", "Request must be smaller than 262144 bytes for the "
                                                               "InvokeAsync operation"));
  }
  LambdaAnswer a = c.api.options.invoke(request);
  if (!a.error_type.empty()) return c.Fail(LambdaError(a.status, a.error_type.c_str(), a.error_message));
  http::Response r;
  r.status = a.status;
  // The invocation's id is the request's, as in Lambda.
  r.headers = {{"x-amzn-RequestId", a.request_id.empty() ? c.request_id : a.request_id},
               {"Date", FormatHttpDate(c.api.env.clock().NowNanos())},
               {"Server", "bucketd"}};
  if (a.status == 200) {
    r.headers.push_back({"Content-Type", "application/json"});
    r.headers.push_back({"X-Amz-Executed-Version", "$LATEST"});
    if (a.function_error) r.headers.push_back({"X-Amz-Function-Error", "Unhandled"});
    const std::string* log = c.Header("x-amz-log-type");
    if (log != nullptr && *log == "Tail") r.headers.push_back({"X-Amz-Log-Result", Base64Encode(a.log_tail)});
  }
  (void)c.ex.Respond(r, a.status == 200 ? a.payload : "");
}

}  // namespace bucketd::api
