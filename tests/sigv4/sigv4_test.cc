// SigV4 against published vectors (AWS's Signature Version 4 test suite and
// the S3 API reference's GET example) and against botocore itself.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/md5.h"
#include "sigv4/sigv4.h"
#include "tests/test_util.h"

namespace bucketd::sigv4 {
namespace {

// The test suite's credentials, scope and time.
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kSuiteDate[] = "20150830T123600Z";
const Scope kSuiteScope{"20150830", "us-east-1", "service"};

struct Vector {
  const char* name;
  Request request;
  std::vector<std::string> signed_headers;
  const char* signature;
};

Request Suite(const char* method, const char* path, std::vector<std::pair<std::string, std::string>> query = {},
              std::vector<std::pair<std::string, std::string>> extra = {}) {
  Request r{method, path, std::move(query), {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}}};
  for (auto& h : extra) r.headers.push_back(std::move(h));
  return r;
}

std::string Sign(const Request& r, const std::vector<std::string>& signed_headers, std::string_view payload_hash,
                 std::string_view secret, std::string_view amz_date, const Scope& scope) {
  auto canonical = CanonicalRequest(r, signed_headers, payload_hash);
  EXPECT_TRUE(canonical.ok()) << canonical.status().ToString();
  return Signature(SigningKey(secret, scope), StringToSign(amz_date, scope, canonical.ok() ? *canonical : std::string()));
}

TEST(SigV4Test, TheAwsTestSuiteVectors) {
  const std::vector<std::string> plain = {"host", "x-amz-date"};
  const Vector vectors[] = {
      {"get-vanilla", Suite("GET", "/"), plain, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {"post-vanilla", Suite("POST", "/"), plain, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
      {"get-vanilla-query-order-key-case", Suite("GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}}), plain,
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
      {"get-unreserved", Suite("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"), plain,
       "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
      {"post-header-value-case", Suite("POST", "/", {}, {{"My-Header1", "VALUE1"}}),
       {"host", "my-header1", "x-amz-date"}, "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
      {"get-header-value-trim", Suite("GET", "/", {}, {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}}),
       {"host", "my-header1", "my-header2", "x-amz-date"},
       "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
      {"get-header-key-duplicate",
       Suite("GET", "/", {}, {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}}),
       {"host", "my-header1", "x-amz-date"}, "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(Sign(v.request, v.signed_headers, kEmptySha256, kSuiteSecret, kSuiteDate, kSuiteScope), v.signature)
        << v.name;
  }
  auto canonical = CanonicalRequest(vectors[2].request, plain, kEmptySha256);
  EXPECT_EQ(Sha256Hex(*canonical), "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0")
      << "the canonical request itself: " << *canonical;
}

// The S3 API reference's "GET Object" example (Authenticating Requests:
// Using the Authorization Header).
TEST(SigV4Test, TheS3ReferenceGetObjectExample) {
  Request r{"GET", "/test.txt", {},
            {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
             {"x-amz-content-sha256", kEmptySha256}, {"x-amz-date", "20130524T000000Z"}}};
  std::vector<std::string> signed_headers = {"host", "range", "x-amz-content-sha256", "x-amz-date"};
  Scope scope{"20130524", "us-east-1", "s3"};
  auto canonical = CanonicalRequest(r, signed_headers, kEmptySha256);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(Sha256Hex(*canonical), "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(Sign(r, signed_headers, kEmptySha256, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524T000000Z", scope),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// Services other than S3 sign the path as sent, URI-encoded once more
// (botocore quotes the already quoted path): a Lambda function's ARN in the
// path carries "%3A" on the wire and "%253A" in the canonical request.
TEST(SigV4Test, OnlyS3SignsThePathEncodedOnce) {
  Request r{"POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3AEcho/invocations", {},
            {{"Host", "localhost"}, {"x-amz-date", "20261202T000000Z"}}};
  auto line = [](const Result<std::string>& c) { return c.value().substr(0, c.value().find('\n', 5)); };
  EXPECT_EQ(line(CanonicalRequest(r, {"host", "x-amz-date"}, kEmptySha256)),
            "POST\n/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3AEcho/invocations");
  r.double_encode_path = true;
  EXPECT_EQ(line(CanonicalRequest(r, {"host", "x-amz-date"}, kEmptySha256)),
            "POST\n/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A1%253Afunction%253AEcho/invocations");
  r.path = "/plain/path";
  EXPECT_EQ(line(CanonicalRequest(r, {"host", "x-amz-date"}, kEmptySha256)), "POST\n/plain/path");
}

// The S3 API reference's presigned URL example (Authenticating Requests:
// Using Query Parameters): the query without X-Amz-Signature is signed,
// over UNSIGNED-PAYLOAD.
TEST(SigV4Test, TheS3ReferencePresignedUrlExample) {
  Request r{"GET", "/test.txt",
            {{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
             {"X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"},
             {"X-Amz-Date", "20130524T000000Z"},
             {"X-Amz-Expires", "86400"},
             {"X-Amz-SignedHeaders", "host"}},
            {{"Host", "examplebucket.s3.amazonaws.com"}}};
  EXPECT_EQ(Sign(r, {"host"}, kUnsignedPayload, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524T000000Z",
                 Scope{"20130524", "us-east-1", "s3"}),
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

// botocore (the newer one on the PATH) signs an S3 request with a key that
// needs encoding, a query, and a header with inner spaces; bucketd must
// compute the same signature from what arrives on the wire.
TEST(SigV4Test, AgreesWithBotocoreOnAnS3RequestThatNeedsEncoding) {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "sign.py", R"PY(
import botocore.auth, botocore.awsrequest, botocore.credentials
creds = botocore.credentials.Credentials("AKIDEXAMPLE", "secret/with+chars")
req = botocore.awsrequest.AWSRequest(method="PUT",
    url="http://127.0.0.1:4566/data/dir%20one/%C3%A9t%C3%A9%2Breport%3D1.csv?tagging=&x-id=PutObject",
    headers={"Content-Type": "text/csv", "X-Amz-Meta-Note": "a   b", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
auth = botocore.auth.S3SigV4Auth(creds, "s3", "eu-west-1")
req.context["timestamp"] = "20261201T120000Z"
req.headers["X-Amz-Date"] = "20261201T120000Z"
req.headers["Host"] = "127.0.0.1:4566"
cr = auth.canonical_request(req)
sts = auth.string_to_sign(req, cr)
print(auth.signature(sts, req))
print(";".join(auth.headers_to_sign(req)))
)PY");
  auto r = testing::Run({"/usr/bin/env", "python3", tmp / "sign.py"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string want = r.out.substr(0, r.out.find('\n'));
  std::string list = r.out.substr(r.out.find('\n') + 1);
  list.erase(list.find_last_not_of('\n') + 1);
  std::vector<std::string> signed_headers;
  for (size_t start = 0;;) {
    size_t semi = list.find(';', start);
    signed_headers.push_back(list.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  std::sort(signed_headers.begin(), signed_headers.end());  // as botocore writes them into SignedHeaders=
  Request req{"PUT", "/data/dir%20one/%C3%A9t%C3%A9%2Breport%3D1.csv", {{"tagging", ""}, {"x-id", "PutObject"}},
              {{"Host", "127.0.0.1:4566"}, {"Content-Type", "text/csv"}, {"X-Amz-Meta-Note", "a   b"},
               {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}, {"X-Amz-Date", "20261201T120000Z"}}};
  EXPECT_EQ(Sign(req, signed_headers, kUnsignedPayload, "secret/with+chars", "20261201T120000Z",
                 Scope{"20261201", "eu-west-1", "s3"}),
            want)
      << "signed headers: " << list << "\n" << CanonicalRequest(req, signed_headers, kUnsignedPayload).value();
}

TEST(SigV4Test, AnAuthorizationHeaderIsParsedAndAMalformedOneNamesWhatIsWrong) {
  auto a = ParseAuthorization(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a->scope.ToString(), "20150830/us-east-1/service/aws4_request");
  EXPECT_EQ(a->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
  auto bad = ParseAuthorization("AWS4-HMAC-SHA256 Credential=AKID/2015/us-east-1/s3/aws4_request, SignedHeaders=host, "
                                "Signature=" + std::string(64, 'a'));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("is not <access key>/<YYYYMMDD>/<region>/<service>/aws4_request"),
            std::string::npos);
  EXPECT_NE(ParseAuthorization("AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, Signature=" +
                               std::string(64, 'a')).status().message().find("has no SignedHeaders"),
            std::string::npos);
  EXPECT_FALSE(ParseAuthorization("AWS AKID:abc").ok());
  EXPECT_FALSE(UriDecode("%zz").ok());
  EXPECT_EQ(UriEncode("a b/é+", true), "a%20b/%C3%A9%2B");
}

}  // namespace
}  // namespace bucketd::sigv4
