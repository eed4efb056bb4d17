#include "sigv4/sigv4.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common/md5.h"

namespace bucketd::sigv4 {

namespace {

bool Unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Leading and trailing spaces gone, inner runs of spaces (and tabs) one space.
std::string TrimAll(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

Result<std::string> UriDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1, lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument("malformed percent-escape at byte " + std::to_string(i) + " of '" +
                                     std::string(s) + "'");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Result<std::string> CanonicalRequest(const Request& r, const std::vector<std::string>& signed_headers,
                                     std::string_view payload_hash) {
  ASSIGN_OR_RETURN(std::string path, UriDecode(r.path.empty() ? "/" : r.path));
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [k, v] : r.query) query.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [k, v] : query) canonical_query += (canonical_query.empty() ? "" : "&") + k + "=" + v;
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : r.headers) {
    std::string& joined = headers[Lower(Trim(name))];
    joined += (joined.empty() ? "" : ",") + TrimAll(value);
  }
  std::string canonical_headers, signed_list;
  for (const std::string& name : signed_headers) {
    auto it = headers.find(name);
    if (it == headers.end()) {
      return Status::InvalidArgument("the signed header '" + name + "' is not in the request");
    }
    canonical_headers += name + ":" + it->second + "\n";
    signed_list += (signed_list.empty() ? "" : ";") + name;
  }
  std::string canonical_path = UriEncode(path, true);
  if (r.double_encode_path) canonical_path = UriEncode(canonical_path, true);
  return r.method + "\n" + canonical_path + "\n" + canonical_query + "\n" + canonical_headers + "\n" +
         signed_list + "\n" + std::string(payload_hash);
}

std::string StringToSign(std::string_view amz_date, const Scope& scope, std::string_view canonical_request) {
  return std::string(kAlgorithm) + "\n" + std::string(amz_date) + "\n" + scope.ToString() + "\n" +
         Sha256Hex(canonical_request);
}

std::string SigningKey(std::string_view secret_access_key, const Scope& scope) {
  std::string k = HmacSha256("AWS4" + std::string(secret_access_key), scope.date);
  k = HmacSha256(k, scope.region);
  k = HmacSha256(k, scope.service);
  return HmacSha256(k, "aws4_request");
}

std::string CachedSigningKey(std::string_view secret_access_key, const Scope& scope) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::string> keys;
  std::string id = std::string(secret_access_key) + "\n" + scope.ToString();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = keys.find(id); it != keys.end()) return it->second;
  }
  std::string key = SigningKey(secret_access_key, scope);
  std::lock_guard<std::mutex> lock(mu);
  if (keys.size() >= 4096) keys.clear();  // yesterday's scopes and old keys go with the rest
  keys.emplace(std::move(id), key);
  return key;
}

std::string Signature(std::string_view signing_key, std::string_view string_to_sign) {
  return HexEncode(HmacSha256(signing_key, string_to_sign));
}

std::string ChunkStringToSign(std::string_view amz_date, const Scope& scope, std::string_view previous_signature,
                              std::string_view chunk_sha256_hex) {
  return "AWS4-HMAC-SHA256-PAYLOAD\n" + std::string(amz_date) + "\n" + scope.ToString() + "\n" +
         std::string(previous_signature) + "\n" + kEmptySha256 + "\n" + std::string(chunk_sha256_hex);
}

std::string TrailerStringToSign(std::string_view amz_date, const Scope& scope, std::string_view previous_signature,
                                std::string_view trailer_lines) {
  return "AWS4-HMAC-SHA256-TRAILER\n" + std::string(amz_date) + "\n" + scope.ToString() + "\n" +
         std::string(previous_signature) + "\n" + Sha256Hex(trailer_lines);
}

Result<Authorization> ParseAuthorization(std::string_view header) {
  std::string_view rest = Trim(header);
  if (rest.substr(0, sizeof(kAlgorithm) - 1) != kAlgorithm) {
    return Status::InvalidArgument("the Authorization header does not start with AWS4-HMAC-SHA256");
  }
  rest.remove_prefix(sizeof(kAlgorithm) - 1);
  std::map<std::string, std::string> parts;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("the Authorization header has '" + std::string(part) + "' where NAME=VALUE belongs");
    }
    parts[std::string(Trim(part.substr(0, eq)))] = std::string(Trim(part.substr(eq + 1)));
  }
  for (const char* need : {"Credential", "SignedHeaders", "Signature"}) {
    if (parts.count(need) == 0) return Status::InvalidArgument(std::string("the Authorization header has no ") + need);
  }
  Authorization a;
  // Credential=<key id>/<date>/<region>/<service>/aws4_request
  std::vector<std::string> fields;
  std::string_view cred = parts["Credential"];
  for (size_t start = 0;;) {
    size_t slash = cred.find('/', start);
    fields.emplace_back(cred.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (fields.size() != 5 || fields[4] != "aws4_request" || fields[1].size() != 8 || fields[0].empty()) {
    return Status::InvalidArgument("the Authorization header's Credential '" + parts["Credential"] +
                                   "' is not <access key>/<YYYYMMDD>/<region>/<service>/aws4_request");
  }
  a.access_key_id = fields[0];
  a.scope = Scope{fields[1], fields[2], fields[3]};
  std::string_view list = parts["SignedHeaders"];
  for (size_t start = 0;;) {
    size_t semi = list.find(';', start);
    a.signed_headers.emplace_back(list.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start));
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  a.signature = parts["Signature"];
  if (a.signature.size() != 64) return Status::InvalidArgument("the Authorization header's Signature is not 64 hex digits");
  return a;
}

}  // namespace bucketd::sigv4
