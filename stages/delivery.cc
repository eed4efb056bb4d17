#include "stages/delivery.h"

#include <cctype>

namespace bucketd::stages {
namespace {

bool IsStamp(std::string_view s) {
  if (s.size() != 8 || s.substr(6) != "01") return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  int month = (s[4] - '0') * 10 + (s[5] - '0');
  return month >= 1 && month <= 12;
}

}  // namespace

const std::vector<TableSpec>& DeliveryTables() {
  static const std::vector<TableSpec> kTables = {
      {"CI01",
       {"REGNUMBER", "COMPANYNAME", "COMPANYTYPE", "COMPANYSTATUS", "INCORPORATIONDATE", "SICCODE",
        "POSTCODE", "EMPLOYEES"}},
      {"AC01",
       {"REGNUMBER", "ACCOUNTSDATE", "ACCOUNTSTYPE", "TURNOVER", "GROSSPROFIT", "OPERATINGPROFIT",
        "PRETAXPROFIT", "FIXEDASSETS", "TRADEDEBTORS", "CASH", "CURRENTASSETS", "TRADECREDITORS",
        "CURRENTLIABILITIES", "LONGTERMLIABILITIES", "NETWORTH"}},
      {"AC06", {"REGNUMBER", "ACCOUNTSDATE", "WAGES", "EXPORTS", "DIRECTORSREMUNERATION", "AUDITFEES"}},
      {"MR01", {"REGNUMBER", "CHARGEID", "CREATEDDATE", "CHARGETYPE", "STATUS", "SATISFIEDDATE"}},
      {"MR02", {"CHARGEID", "PERSONENTITLED"}},
      {"LUCT01", {"CODE", "DESCRIPTION"}, true},
      {"LULQ01", {"CODE", "DESCRIPTION", "ISACTIVE"}, true},
      {"LUAT01", {"CODE", "DESCRIPTION"}, true},
      {"LUFT01", {"CODE", "DESCRIPTION"}, true},
      {"LUSC01", {"CODE", "DESCRIPTION", "SECTION"}, true},
      {"LUSC02", {"CODE", "DESCRIPTION"}, true},
  };
  return kTables;
}

const TableSpec* FindTable(std::string_view name) {
  for (const auto& t : DeliveryTables()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string DeliveryName(std::string_view stamp) { return "UKLTD_M_" + std::string(stamp); }

std::string TableFileName(std::string_view table, std::string_view stamp) {
  return std::string(table) + "_M_" + std::string(stamp) + ".txt";
}

std::optional<DeliveryFileName> ParseDeliveryFileName(std::string_view file_name) {
  size_t m = file_name.find("_M_");
  if (m == std::string_view::npos || m == 0) return std::nullopt;
  std::string_view rest = file_name.substr(m + 3);
  if (rest.size() < 10 || rest[8] != '.') return std::nullopt;
  DeliveryFileName out{std::string(file_name.substr(0, m)), std::string(rest.substr(0, 8)),
                       std::string(rest.substr(9))};
  if (!IsStamp(out.stamp) || out.ext.empty()) return std::nullopt;
  for (char c : out.table) {
    if (!std::isupper(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::string> ParseDeliveryName(std::string_view name) {
  constexpr std::string_view kPrefix = "UKLTD_M_";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view stamp = name.substr(kPrefix.size());
  if (!IsStamp(stamp)) return std::nullopt;
  return std::string(stamp);
}

}  // namespace bucketd::stages
