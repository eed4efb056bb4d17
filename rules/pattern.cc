#include "rules/pattern.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "common/text.h"

namespace bucketd::rules {

namespace {

constexpr size_t kMaxCombinations = 1000;
constexpr int kMaxWildcardsBeforeOneChar = 5;

std::string Lower(std::string_view s) { return LowerUtf8(s); }

std::string Escape(std::string_view seg) {  // RFC 6901
  std::string out;
  for (char c : seg) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

class Compiler {
 public:
  explicit Compiler(std::string source) : source_(std::move(source)) {}

  Status Error(const std::string& pointer, const std::string& what) const {
    return Status::InvalidArgument(source_ + ": " + (pointer.empty() ? "/" : pointer) + ": " + what);
  }

  Result<std::vector<std::vector<FieldTest>>> Object(const nlohmann::json& obj,
                                                     const std::string& path,
                                                     const std::string& ptr) {
    if (!obj.is_object()) return Error(ptr, "expected a JSON object");
    if (obj.empty()) return Error(ptr, "an empty object matches nothing; expected at least one field");
    std::vector<std::vector<FieldTest>> acc(1);
    for (const auto& [key, value] : obj.items()) {
      std::string p = ptr + "/" + Escape(key);
      if (key == "$or") {
        if (!value.is_array() || value.size() < 2) {
          return Error(p, "\"$or\" takes an array of at least two patterns");
        }
        std::vector<std::vector<FieldTest>> alts;
        for (size_t i = 0; i < value.size(); ++i) {
          ASSIGN_OR_RETURN(auto sub, Object(value[i], path, p + "/" + std::to_string(i)));
          alts.insert(alts.end(), sub.begin(), sub.end());
        }
        RETURN_IF_ERROR(Product(&acc, alts, p));
      } else if (value.is_object()) {
        ASSIGN_OR_RETURN(auto sub, Object(value, path + key + ".", p));
        RETURN_IF_ERROR(Product(&acc, sub, p));
      } else if (value.is_array()) {
        ASSIGN_OR_RETURN(FieldTest ft, List(value, path + key, p));
        for (auto& conj : acc) conj.push_back(ft);
      } else {
        return Error(p, "expected an array of values or a nested object, got " +
                            std::string(value.type_name()));
      }
    }
    return acc;
  }

 private:
  Status Product(std::vector<std::vector<FieldTest>>* acc,
                 const std::vector<std::vector<FieldTest>>& alts, const std::string& ptr) {
    if (acc->size() * alts.size() > kMaxCombinations) {
      return Error(ptr, "the pattern expands to more than " + std::to_string(kMaxCombinations) +
                            " combinations of \"$or\"");
    }
    std::vector<std::vector<FieldTest>> out;
    for (const auto& a : *acc) {
      for (const auto& b : alts) {
        auto c = a;
        c.insert(c.end(), b.begin(), b.end());
        out.push_back(std::move(c));
      }
    }
    *acc = std::move(out);
    return Status::OK();
  }

  Result<FieldTest> List(const nlohmann::json& arr, const std::string& path, const std::string& ptr) {
    if (arr.empty()) return Error(ptr, "empty arrays are not allowed; expected at least one value");
    FieldTest ft;
    ft.path = path;
    for (size_t i = 0; i < arr.size(); ++i) {
      ASSIGN_OR_RETURN(Matcher m, Element(arr[i], ptr + "/" + std::to_string(i)));
      ft.any.push_back(std::move(m));
    }
    return ft;
  }

  Result<Matcher> Literal(const nlohmann::json& v, const std::string& ptr) {
    Matcher m;
    if (v.is_string()) {
      m.kind = Matcher::Kind::kString;
      m.s = v.get<std::string>();
    } else if (v.is_number()) {
      m.kind = Matcher::Kind::kNumber;
      m.n = v.get<double>();
    } else if (v.is_boolean()) {
      m.kind = Matcher::Kind::kBool;
      m.b = v.get<bool>();
    } else if (v.is_null()) {
      m.kind = Matcher::Kind::kNull;
    } else {
      return Error(ptr, "expected a string, number, boolean, null or operator object");
    }
    return m;
  }

  Result<std::string> NeedString(const nlohmann::json& v, const std::string& ptr, const char* op) {
    if (!v.is_string()) return Error(ptr, std::string("\"") + op + "\" takes a string");
    return v.get<std::string>();
  }

  // "prefix"/"suffix": a string, or {"equals-ignore-case": string}.
  Result<Matcher> Affix(const nlohmann::json& v, const std::string& ptr, Matcher::Kind kind,
                        const char* op) {
    Matcher m;
    m.kind = kind;
    if (v.is_object()) {
      if (v.size() != 1 || !v.contains("equals-ignore-case") || !v["equals-ignore-case"].is_string()) {
        return Error(ptr, std::string("\"") + op +
                              "\" takes a string or {\"equals-ignore-case\": string}");
      }
      m.ignore_case = true;
      m.s = Lower(v["equals-ignore-case"].get<std::string>());
      return m;
    }
    ASSIGN_OR_RETURN(m.s, NeedString(v, ptr, op));
    return m;
  }

  Result<Matcher> Wildcard(const nlohmann::json& v, const std::string& ptr) {
    ASSIGN_OR_RETURN(std::string s, NeedString(v, ptr, "wildcard"));
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
        continue;
      }
      if (s[i] == '*' && s[i + 1] == '*') {
        return Error(ptr, "consecutive wildcard characters are not allowed");
      }
    }
    // AWS refuses wildcards whose matching could fan out: many wildcards
    // each followed by the same character ("*:*:*:*:*:event-bus/*") keep
    // that many partial matches alive at once. bucketd refuses five or
    // more wildcards followed by one character (docs/rules.md, "choices").
    std::map<char, int> followed;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
        continue;
      }
      if (s[i] == '*' && i + 1 < s.size() && ++followed[s[i + 1]] >= kMaxWildcardsBeforeOneChar) {
        return Error(ptr, "the wildcard is too complex: " + std::to_string(kMaxWildcardsBeforeOneChar) +
                              " or more '*' are followed by '" + std::string(1, s[i + 1]) +
                              "' (AWS: \"Rule is too complex - try using fewer wildcard characters or fewer "
                              "repeating character sequences after a wildcard character\")");
      }
    }
    Matcher m;
    m.kind = Matcher::Kind::kWildcard;
    m.s = s;
    return m;
  }

  Result<Matcher> Numeric(const nlohmann::json& v, const std::string& ptr) {
    auto bad = [&](const std::string& why) {
      return Error(ptr, "\"numeric\" " + why +
                            " (expected [\"<op>\", number] or [\">\"|\">=\", low, \"<\"|\"<=\", high])");
    };
    if (!v.is_array() || (v.size() != 2 && v.size() != 4)) return bad("takes 2 or 4 elements");
    Matcher m;
    m.kind = Matcher::Kind::kNumeric;
    for (size_t i = 0; i < v.size(); i += 2) {
      if (!v[i].is_string()) return bad("needs an operator string at position " + std::to_string(i));
      std::string op = v[i].get<std::string>();
      if (op != "<" && op != "<=" && op != "=" && op != ">" && op != ">=") {
        return bad("has unknown operator '" + op + "'");
      }
      if (!v[i + 1].is_number()) return bad("needs a number after '" + op + "'");
      m.ops.emplace_back(op, v[i + 1].get<double>());
    }
    if (m.ops.size() == 2) {
      const auto& lo = m.ops[0];
      const auto& hi = m.ops[1];
      if ((lo.first != ">" && lo.first != ">=") || (hi.first != "<" && hi.first != "<=")) {
        return bad("range must be a lower bound (> or >=) then an upper bound (< or <=)");
      }
      if (lo.second >= hi.second) return bad("range is empty: the lower bound is not below the upper");
    }
    return m;
  }

  Result<Matcher> Cidr(const nlohmann::json& v, const std::string& ptr) {
    ASSIGN_OR_RETURN(std::string s, NeedString(v, ptr, "cidr"));
    Matcher m;
    m.kind = Matcher::Kind::kCidr;
    size_t slash = s.find('/');
    std::string ip = s.substr(0, slash);
    m.v6 = ip.find(':') != std::string::npos;
    int max_len = m.v6 ? 128 : 32;
    if (inet_pton(m.v6 ? AF_INET6 : AF_INET, ip.c_str(), m.addr.data()) != 1) {
      return Error(ptr, "\"cidr\" needs an IP address with a prefix length, like 10.0.0.0/24");
    }
    m.prefix_len = max_len;
    if (slash != std::string::npos) {
      std::string len = s.substr(slash + 1);
      if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(len) > max_len) {
        return Error(ptr, "\"cidr\" prefix length must be 0 to " + std::to_string(max_len));
      }
      m.prefix_len = std::stoi(len);
    }
    return m;
  }

  Result<Matcher> AnythingBut(const nlohmann::json& v, const std::string& ptr) {
    Matcher m;
    m.kind = Matcher::Kind::kAnythingBut;
    auto literal = [&](const nlohmann::json& x, const std::string& p) -> Status {
      if (!x.is_string() && !x.is_number()) {
        return Error(p, "\"anything-but\" takes strings or numbers (not null, booleans or objects)");
      }
      ASSIGN_OR_RETURN(Matcher lit, Literal(x, p));
      Value val;
      val.type = lit.kind == Matcher::Kind::kString ? Value::Type::kString : Value::Type::kNumber;
      val.s = lit.s;
      val.n = lit.n;
      m.but.push_back(val);
      return Status::OK();
    };
    if (v.is_array()) {
      if (v.empty()) return Error(ptr, "\"anything-but\" list must not be empty");
      for (size_t i = 0; i < v.size(); ++i) RETURN_IF_ERROR(literal(v[i], ptr + "/" + std::to_string(i)));
      return m;
    }
    if (!v.is_object()) {
      RETURN_IF_ERROR(literal(v, ptr));
      return m;
    }
    if (v.size() != 1) return Error(ptr, "\"anything-but\" object takes exactly one operator");
    auto first = v.begin();
    const std::string op = first.key();
    const nlohmann::json& arg = first.value();
    std::string p = ptr + "/" + Escape(op);
    auto each = [&](auto fn) -> Status {
      if (arg.is_array()) {
        if (arg.empty()) return Error(p, "list must not be empty");
        for (size_t i = 0; i < arg.size(); ++i) {
          ASSIGN_OR_RETURN(Matcher x, fn(arg[i], p + "/" + std::to_string(i)));
          m.inner.push_back(std::move(x));
        }
        return Status::OK();
      }
      ASSIGN_OR_RETURN(Matcher x, fn(arg, p));
      m.inner.push_back(std::move(x));
      return Status::OK();
    };
    if (op == "prefix" || op == "suffix") {
      // A string or a list of strings (AWS takes both); an empty one would
      // exclude everything, and AWS refuses it.
      auto kind = op == "prefix" ? Matcher::Kind::kPrefix : Matcher::Kind::kSuffix;
      RETURN_IF_ERROR(each([&](const nlohmann::json& x, const std::string& xp) -> Result<Matcher> {
        if (x.is_object()) return Error(xp, "\"anything-but\" with \"" + op + "\" takes a plain string");
        ASSIGN_OR_RETURN(Matcher a, Affix(x, xp, kind, op.c_str()));
        if (a.s.empty()) return Error(xp, "\"anything-but\" with \"" + op + "\" takes a non-empty string");
        return a;
      }));
      return m;
    }
    if (op == "equals-ignore-case") {
      RETURN_IF_ERROR(each([&](const nlohmann::json& x, const std::string& xp) -> Result<Matcher> {
        Matcher e;
        e.kind = Matcher::Kind::kEqualsIgnoreCase;
        ASSIGN_OR_RETURN(e.s, NeedString(x, xp, "equals-ignore-case"));
        e.s = Lower(e.s);
        return e;
      }));
      return m;
    }
    if (op == "wildcard") {
      RETURN_IF_ERROR(each([&](const nlohmann::json& x, const std::string& xp) { return Wildcard(x, xp); }));
      return m;
    }
    return Error(p, "\"anything-but\" supports prefix, suffix, equals-ignore-case and wildcard, not \"" +
                        op + "\"");
  }

  Result<Matcher> Element(const nlohmann::json& v, const std::string& ptr) {
    if (v.is_array()) return Error(ptr, "nested arrays are not allowed in a pattern");
    if (!v.is_object()) return Literal(v, ptr);
    if (v.size() != 1) return Error(ptr, "an operator object takes exactly one operator");
    auto first = v.begin();
    const std::string op = first.key();
    const nlohmann::json& arg = first.value();
    std::string p = ptr + "/" + Escape(op);
    if (op == "prefix") return Affix(arg, p, Matcher::Kind::kPrefix, "prefix");
    if (op == "suffix") return Affix(arg, p, Matcher::Kind::kSuffix, "suffix");
    if (op == "equals-ignore-case") {
      Matcher m;
      m.kind = Matcher::Kind::kEqualsIgnoreCase;
      ASSIGN_OR_RETURN(m.s, NeedString(arg, p, "equals-ignore-case"));
      m.s = Lower(m.s);
      return m;
    }
    if (op == "wildcard") return Wildcard(arg, p);
    if (op == "numeric") return Numeric(arg, p);
    if (op == "exists") {
      if (!arg.is_boolean()) return Error(p, "\"exists\" takes true or false");
      Matcher m;
      m.kind = Matcher::Kind::kExists;
      m.b = arg.get<bool>();
      return m;
    }
    if (op == "cidr") return Cidr(arg, p);
    if (op == "anything-but") return AnythingBut(arg, p);
    return Error(ptr, "unknown operator \"" + op +
                          "\"; expected one of prefix, suffix, equals-ignore-case, wildcard, numeric, "
                          "exists, cidr, anything-but");
  }

  std::string source_;
};

// '*' matches any run of characters; "\*" is a literal star, "\\" a backslash.
bool Glob(std::string_view pat, std::string_view s) {
  size_t p = 0, i = 0, star_p = std::string_view::npos, star_i = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star_p = ++p;
      star_i = i;
      continue;
    }
    if (p < pat.size()) {
      char want = pat[p];
      size_t adv = 1;
      if (want == '\\' && p + 1 < pat.size()) {
        want = pat[p + 1];
        adv = 2;
      }
      if (want == s[i]) {
        p += adv;
        ++i;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    i = ++star_i;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool InCidr(const Matcher& m, std::string_view ip) {
  char text[INET6_ADDRSTRLEN + 1];
  if (ip.size() >= sizeof(text)) return false;
  ip.copy(text, ip.size());
  text[ip.size()] = '\0';
  std::array<uint8_t, 16> a{};
  if (inet_pton(m.v6 ? AF_INET6 : AF_INET, text, a.data()) != 1) return false;
  int bits = m.prefix_len;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[static_cast<size_t>(i)] & mask) != (m.addr[static_cast<size_t>(i)] & mask)) return false;
  }
  return true;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool EndsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

}  // namespace

std::string LineColumn(std::string_view text, size_t byte_offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte_offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

Status CheckJsonNesting(std::string_view text, const std::string& source) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        return Status::InvalidArgument(source + ": " + LineColumn(text, i) + ": nested deeper than " +
                                       std::to_string(kMaxJsonDepth) + " levels (the limit for rules, "
                                       "functions and events)");
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return Status::OK();
}

Result<nlohmann::json> ParseJson(std::string_view text, const std::string& source) {
  // Checked before parsing: everything that walks a parsed document
  // (patterns, flattening) recurses over its nesting.
  RETURN_IF_ERROR(CheckJsonNesting(text, source));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& err) {
    return Status::InvalidArgument(source + ": " + LineColumn(text, err.byte ? err.byte - 1 : 0) +
                                   ": invalid JSON (" + err.what() + ")");
  } catch (const nlohmann::json::exception& err) {  // e.g. a number out of range
    return Status::InvalidArgument(source + ": invalid JSON (" + err.what() + ")");
  }
}

Result<Pattern> CompilePattern(const nlohmann::json& pattern, const std::string& source,
                               const std::string& pointer) {
  Compiler c(source);
  ASSIGN_OR_RETURN(auto alts, c.Object(pattern, "", pointer));
  return Pattern{std::move(alts)};
}

Result<Pattern> ParsePattern(std::string_view text, const std::string& source) {
  ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(text, source));
  return CompilePattern(j, source);
}

bool MatchesValue(const Matcher& m, const ValueView& v) {
  using K = Matcher::Kind;
  using T = Value::Type;
  switch (m.kind) {
    case K::kString: return v.type == T::kString && v.s == m.s;
    case K::kNumber: return v.type == T::kNumber && v.n == m.n;
    case K::kBool: return v.type == T::kBool && v.b == m.b;
    case K::kNull: return v.type == T::kNull;
    case K::kPrefix:
      return v.type == T::kString && (m.ignore_case ? StartsWith(Lower(v.s), m.s) : StartsWith(v.s, m.s));
    case K::kSuffix:
      return v.type == T::kString && (m.ignore_case ? EndsWith(Lower(v.s), m.s) : EndsWith(v.s, m.s));
    case K::kEqualsIgnoreCase: return v.type == T::kString && Lower(v.s) == m.s;
    case K::kWildcard: return v.type == T::kString && Glob(m.s, v.s);
    case K::kNumeric:
      if (v.type != T::kNumber) return false;
      for (const auto& [op, x] : m.ops) {
        bool ok = op == "<" ? v.n < x : op == "<=" ? v.n <= x : op == "=" ? v.n == x
                : op == ">" ? v.n > x : v.n >= x;
        if (!ok) return false;
      }
      return true;
    case K::kExists: return false;  // decided per field, not per value
    case K::kCidr: return v.type == T::kString && InCidr(m, v.s);
    case K::kAnythingBut:
      // Any value that is there and is none of the excluded ones — null,
      // a number against string operators, a string against numbers
      // (AWS-verified; a missing field matches nothing).
      if (!m.inner.empty()) {
        for (const auto& in : m.inner) {
          if (MatchesValue(in, v)) return false;
        }
        return true;
      }
      for (const auto& b : m.but) {
        if (v.type == b.type && (b.type == T::kString ? v.s == b.s : v.n == b.n)) return false;
      }
      return true;
  }
  return false;
}

bool MatchesField(const FieldTest& ft, const FlatEvent::Values& values) {
  for (const Matcher& m : ft.any) {
    if (m.kind == Matcher::Kind::kExists) {
      if (m.b == !values.empty()) return true;
      continue;
    }
    for (ValueView v : values) {
      if (MatchesValue(m, v)) return true;
    }
  }
  return false;
}

bool MatchesAll(const std::vector<FieldTest>& conjunction, const FlatEvent& event) {
  return std::all_of(conjunction.begin(), conjunction.end(),
                     [&](const FieldTest& ft) { return MatchesField(ft, event.Find(ft.path)); });
}

bool Matches(const Pattern& pattern, const FlatEvent& event) {
  return std::any_of(pattern.alternatives.begin(), pattern.alternatives.end(),
                     [&](const auto& conj) { return MatchesAll(conj, event); });
}

FieldPaths PathsOf(const Pattern& pattern) {
  FieldPaths paths;
  for (const auto& conj : pattern.alternatives) {
    for (const auto& ft : conj) paths.Add(ft.path);
  }
  return paths;
}

}  // namespace bucketd::rules
