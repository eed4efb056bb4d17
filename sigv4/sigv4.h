// AWS Signature Version 4: the canonical request, the string to sign, the
// signing key and the signature, for the endpoint's verifier (issue 14) and
// for anything of bucketd's that signs requests (a later S3 store backend).
// Follows AWS's "Signature Version 4 signing process" as S3 applies it: the
// path is taken as sent, every segment URI-encoded once (S3 neither
// normalizes paths nor double-encodes them); query parameters sorted by
// encoded name, then value; header names lower-cased, values trimmed and
// inner runs of spaces collapsed, repeated headers joined with ','.
//
// Thread-safety: pure functions.
#ifndef BUCKETD_SIGV4_SIGV4_H_
#define BUCKETD_SIGV4_SIGV4_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace bucketd::sigv4 {

inline constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
inline constexpr char kUnsignedPayload[] = "UNSIGNED-PAYLOAD";
inline constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// "<date>/<region>/<service>/aws4_request".
struct Scope {
  std::string date;  // YYYYMMDD
  std::string region;
  std::string service;
  std::string ToString() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

struct Request {
  std::string method;
  std::string path;  // as on the request line, before '?' (percent-encoded as the client sent it)
  std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
  std::vector<std::pair<std::string, std::string>> headers;  // names in any case, values as received
  // Every service but S3 signs the path URI-encoded twice (SigV4's rule for
  // the canonical URI); S3 once.
  bool double_encode_path = false;
};

// RFC 3986 percent-encoding of everything but the unreserved characters
// (A-Z a-z 0-9 - . _ ~), and of '/' unless `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);
// Decodes %XX escapes; InvalidArgument for a malformed one.
Result<std::string> UriDecode(std::string_view s);

// The canonical request for `signed_headers` (lower case, sorted, as in the
// Authorization header). InvalidArgument names a signed header the request
// lacks.
Result<std::string> CanonicalRequest(const Request& request, const std::vector<std::string>& signed_headers,
                                     std::string_view payload_hash);
std::string StringToSign(std::string_view amz_date, const Scope& scope, std::string_view canonical_request);
// HMAC chain "AWS4"+secret → date → region → service → "aws4_request".
std::string SigningKey(std::string_view secret_access_key, const Scope& scope);
// SigningKey, remembered per secret and scope (a scope changes once a day):
// a server verifying every request would otherwise pay four HMACs each.
// Thread-safe; holds at most a few thousand keys, in memory only.
std::string CachedSigningKey(std::string_view secret_access_key, const Scope& scope);
// Lower-case hex HMAC-SHA256 of the string to sign under the signing key.
std::string Signature(std::string_view signing_key, std::string_view string_to_sign);

// The payload hash values of x-amz-content-sha256 that are no hash.
inline constexpr char kStreamingSigned[] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr char kStreamingSignedTrailer[] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr char kStreamingUnsignedTrailer[] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

// aws-chunked's signatures chain from the request's ("seed") signature:
// each chunk's string to sign names the previous signature and the chunk's
// SHA-256; the trailer's, the SHA-256 of its "name:value\n" lines.
std::string ChunkStringToSign(std::string_view amz_date, const Scope& scope, std::string_view previous_signature,
                              std::string_view chunk_sha256_hex);
std::string TrailerStringToSign(std::string_view amz_date, const Scope& scope, std::string_view previous_signature,
                                std::string_view trailer_lines);

// An Authorization header's parts.
struct Authorization {
  std::string access_key_id;
  Scope scope;
  std::vector<std::string> signed_headers;
  std::string signature;
};
// InvalidArgument naming what is missing or malformed (S3 answers
// AuthorizationHeaderMalformed).
Result<Authorization> ParseAuthorization(std::string_view header);

}  // namespace bucketd::sigv4

#endif  // BUCKETD_SIGV4_SIGV4_H_
