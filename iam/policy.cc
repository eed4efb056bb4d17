#include "iam/policy.h"

#include <cctype>

namespace bucketd::iam {
namespace {

using nlohmann::json;

char Fold(char c, bool ignore_case) {
  return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// A string or a list of strings, as every list-valued policy element may be.
std::vector<std::string> Strings(const json& v) {
  std::vector<std::string> out;
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array()) {
    for (const json& s : v) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

Status CheckStrings(const json& v, const std::string& where) {
  if (v.is_string()) return Status::OK();
  if (v.is_array() && !v.empty()) {
    for (const json& s : v) {
      if (!s.is_string()) return Status::InvalidArgument(where + ": expected strings");
    }
    return Status::OK();
  }
  return Status::InvalidArgument(where + ": expected a string or a non-empty list of strings");
}

struct Operator {
  bool like = false;
  bool negated = false;
  bool ignore_case = false;
  bool if_exists = false;
};

bool ParseOperator(std::string name, Operator* op) {
  if (name.size() > 8 && name.ends_with("IfExists")) {
    op->if_exists = true;
    name.resize(name.size() - 8);
  }
  if (name == "StringEquals") return true;
  if (name == "StringNotEquals") return op->negated = true;
  if (name == "StringEqualsIgnoreCase") return op->ignore_case = true;
  if (name == "StringNotEqualsIgnoreCase") return op->negated = op->ignore_case = true;
  if (name == "StringLike") return op->like = true;
  if (name == "StringNotLike") return op->like = op->negated = true;
  return false;
}

bool ConditionHolds(const json& condition, const AuthzRequest& r) {
  for (const auto& [op_name, keys] : condition.items()) {
    Operator op;
    if (!ParseOperator(op_name, &op)) return false;  // refused at validation; fail closed
    for (const auto& [key, values] : keys.items()) {
      auto it = r.context.find(key);
      if (it == r.context.end()) {
        // A key the request lacks matches nothing; the negated operators
        // (and ...IfExists) then hold, as in AWS.
        if (op.negated || op.if_exists) continue;
        return false;
      }
      bool any = false;
      for (const std::string& v : Strings(values)) {
        bool match = op.like ? WildcardMatch(v, it->second, false) : v.size() == it->second.size();
        for (size_t i = 0; !op.like && match && i < v.size(); ++i) {
          match = Fold(v[i], op.ignore_case) == Fold(it->second[i], op.ignore_case);
        }
        any = any || match;
      }
      if (any == op.negated) return false;
    }
  }
  return true;
}

bool AnyMatches(const json& patterns, std::string_view value, bool ignore_case) {
  for (const std::string& p : Strings(patterns)) {
    if (WildcardMatch(p, value, ignore_case)) return true;
  }
  return false;
}

// Whether the statement applies to the request.
bool Applies(const json& s, const AuthzRequest& r) {
  bool action = s.contains("Action") ? AnyMatches(s["Action"], r.action, true)
                                     : !AnyMatches(s.value("NotAction", json()), r.action, true);
  if (!action) return false;
  bool resource = s.contains("Resource") ? AnyMatches(s["Resource"], r.resource, false)
                                         : !AnyMatches(s.value("NotResource", json()), r.resource, false);
  if (!resource) return false;
  return !s.contains("Condition") || ConditionHolds(s["Condition"], r);
}

std::vector<const json*> Statements(const json& doc) {
  std::vector<const json*> out;
  if (!doc.is_object() || !doc.contains("Statement")) return out;
  const json& st = doc["Statement"];
  if (st.is_object()) out.push_back(&st);
  if (st.is_array()) {
    for (const json& s : st) out.push_back(&s);
  }
  return out;
}

json Allow(json actions, json resources) {
  return {{"Version", "2012-10-17"},
          {"Statement", {{{"Effect", "Allow"}, {"Action", std::move(actions)}, {"Resource", std::move(resources)}}}}};
}

}  // namespace

bool WildcardMatch(std::string_view p, std::string_view v, bool ignore_case) {
  // Iterative glob with one backtrack point: linear in practice, never
  // exponential on a hostile pattern.
  size_t pi = 0, vi = 0, star = std::string_view::npos, mark = 0;
  while (vi < v.size()) {
    if (pi < p.size() && (p[pi] == '?' || Fold(p[pi], ignore_case) == Fold(v[vi], ignore_case))) {
      ++pi;
      ++vi;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = vi;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      vi = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Status ValidatePolicy(const json& doc) {
  if (!doc.is_object()) return Status::InvalidArgument("/: expected a policy object");
  for (const auto& [k, v] : doc.items()) {
    if (k != "Version" && k != "Statement" && k != "Id") {
      return Status::InvalidArgument("/" + k + ": unknown field; expected Version, Id or Statement");
    }
  }
  if (doc.contains("Version") && doc["Version"] != "2012-10-17" && doc["Version"] != "2008-10-17") {
    return Status::InvalidArgument("/Version: expected \"2012-10-17\"");
  }
  if (!doc.contains("Statement") || !(doc["Statement"].is_object() || doc["Statement"].is_array())) {
    return Status::InvalidArgument("/Statement: expected a statement or a list of statements");
  }
  auto statements = Statements(doc);
  for (size_t i = 0; i < statements.size(); ++i) {
    const json& s = *statements[i];
    std::string at = doc["Statement"].is_array() ? "/Statement/" + std::to_string(i) : "/Statement";
    if (!s.is_object()) return Status::InvalidArgument(at + ": expected an object");
    for (const auto& [k, v] : s.items()) {
      if (k != "Sid" && k != "Effect" && k != "Action" && k != "NotAction" && k != "Resource" &&
          k != "NotResource" && k != "Condition") {
        return Status::InvalidArgument(at + "/" + k + ": unknown or unsupported field (Principal belongs in a "
                                                       "resource policy)");
      }
    }
    if (s.value("Effect", "") != "Allow" && s.value("Effect", "") != "Deny") {
      return Status::InvalidArgument(at + "/Effect: expected \"Allow\" or \"Deny\"");
    }
    if (s.contains("Action") == s.contains("NotAction")) {
      return Status::InvalidArgument(at + ": expected exactly one of Action and NotAction");
    }
    if (s.contains("Resource") == s.contains("NotResource")) {
      return Status::InvalidArgument(at + ": expected exactly one of Resource and NotResource");
    }
    for (const char* field : {"Action", "NotAction", "Resource", "NotResource"}) {
      if (s.contains(field)) RETURN_IF_ERROR(CheckStrings(s[field], at + "/" + field));
    }
    if (s.contains("Condition")) {
      const json& c = s["Condition"];
      if (!c.is_object()) return Status::InvalidArgument(at + "/Condition: expected an object");
      for (const auto& [op_name, keys] : c.items()) {
        Operator op;
        if (!ParseOperator(op_name, &op)) {
          return Status::InvalidArgument(at + "/Condition/" + op_name +
                                         ": unsupported operator; expected a String… operator (StringEquals, "
                                         "StringLike, their Not… and IgnoreCase forms, …IfExists)");
        }
        if (!keys.is_object()) return Status::InvalidArgument(at + "/Condition/" + op_name + ": expected an object");
        for (const auto& [key, values] : keys.items()) {
          RETURN_IF_ERROR(CheckStrings(values, at + "/Condition/" + op_name + "/" + key));
        }
      }
    }
  }
  return Status::OK();
}

Decision Evaluate(const std::vector<const json*>& policies, const AuthzRequest& request) {
  bool allowed = false;
  for (const json* p : policies) {
    for (const json* s : Statements(*p)) {
      if (!s->is_object() || !Applies(*s, request)) continue;
      if (s->value("Effect", "") == "Deny") return Decision::kExplicitDeny;
      if (s->value("Effect", "") == "Allow") allowed = true;
    }
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

const json* ManagedPolicy(std::string_view arn) {
  static const std::map<std::string, json, std::less<>> kManaged = {
      {"arn:aws:iam::aws:policy/AdministratorAccess", Allow("*", "*")},
      {"arn:aws:iam::aws:policy/AmazonS3FullAccess", Allow(json::array({"s3:*", "s3-object-lambda:*"}), "*")},
      {"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
       Allow(json::array({"s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"}),
             "*")},
  };
  auto it = kManaged.find(arn);
  return it == kManaged.end() ? nullptr : &it->second;
}

}  // namespace bucketd::iam
