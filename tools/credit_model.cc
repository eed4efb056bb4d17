#include "tools/credit_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "tools/civil_date.h"
#include "tools/rng.h"

namespace bucketd::tools {
namespace {

constexpr int kFirstAccountsYear = 2012;

struct Sic {
  const char* code;
  const char* description;
  const char* section;  // "" for dormant
  double weight;
};
const Sic kSics[] = {
    {"01110", "Growing of cereals (except rice), leguminous crops and oil seeds", "A", 1},
    {"10110", "Processing and preserving of meat", "C", 1},
    {"25110", "Manufacture of metal structures and parts of structures", "C", 2},
    {"28290", "Manufacture of other general-purpose machinery n.e.c.", "C", 1.5},
    {"41100", "Development of building projects", "F", 3},
    {"43210", "Electrical installation", "F", 3},
    {"45111", "Sale of new cars and light motor vehicles", "G", 1.5},
    {"46900", "Non-specialised wholesale trade", "G", 3},
    {"47110", "Retail sale in non-specialised stores with food, beverages or tobacco predominating", "G", 2},
    {"47910", "Retail sale via mail order houses or via Internet", "G", 2},
    {"49410", "Freight transport by road", "H", 2},
    {"55100", "Hotels and similar accommodation", "I", 1},
    {"56101", "Licensed restaurants", "I", 2},
    {"62012", "Business and domestic software development", "J", 3},
    {"62020", "Information technology consultancy activities", "J", 4},
    {"64999", "Financial intermediation not elsewhere classified", "K", 1},
    {"68100", "Buying and selling of own real estate", "L", 2},
    {"68209", "Other letting and operating of own or leased real estate", "L", 3},
    {"69201", "Accounting and auditing activities", "M", 2},
    {"70229", "Management consultancy activities other than financial management", "M", 5},
    {"71129", "Other engineering activities", "M", 2},
    {"74909", "Other professional, scientific and technical activities n.e.c.", "M", 3},
    {"78109", "Other activities of employment placement agencies", "N", 1.5},
    {"78200", "Temporary employment agency activities", "N", 1.5},
    {"81210", "General cleaning of buildings", "N", 1.5},
    {"82990", "Other business support service activities n.e.c.", "N", 3},
    {"85590", "Other education n.e.c.", "P", 1.5},
    {"86900", "Other human health activities", "Q", 2},
    {"93130", "Fitness facilities", "R", 1},
    {"96020", "Hairdressing and other beauty treatment", "S", 1.5},
    {"99999", "Dormant Company", "", 2},
};

const char* const kSections[][2] = {
    {"A", "Agriculture, Forestry and Fishing"},
    {"B", "Mining and Quarrying"},
    {"C", "Manufacturing"},
    {"D", "Electricity, gas, steam and air conditioning supply"},
    {"E", "Water supply, sewerage, waste management and remediation activities"},
    {"F", "Construction"},
    {"G", "Wholesale and retail trade; repair of motor vehicles and motorcycles"},
    {"H", "Transportation and storage"},
    {"I", "Accommodation and food service activities"},
    {"J", "Information and communication"},
    {"K", "Financial and insurance activities"},
    {"L", "Real estate activities"},
    {"M", "Professional, scientific and technical activities"},
    {"N", "Administrative and support service activities"},
    {"O", "Public administration and defence; compulsory social security"},
    {"P", "Education"},
    {"Q", "Human health and social work activities"},
    {"R", "Arts, entertainment and recreation"},
    {"S", "Other service activities"},
    {"T", "Activities of households as employers"},
    {"U", "Activities of extraterritorial organisations and bodies"},
};

struct Weighted {
  const char* code;
  const char* description;
  double weight;
};
const Weighted kCompanyTypes[] = {
    {"PRI", "Private Limited Company", 85},
    {"GUA", "Private Limited Company by guarantee without share capital", 5},
    {"LLP", "Limited Liability Partnership", 4},
    {"PLC", "Public Limited Company", 1.5},
    {"PRU", "Private Unlimited Company", 1.5},
    {"CIC", "Community Interest Company", 1.5},
    {"RSO", "Registered Society", 0.7},
    {"ICV", "Investment Company with Variable Capital", 0.4},
    {"OVS", "Overseas Company", 0.4},
};

const char* const kStatuses[][3] = {
    {"A", "Active", "Y"},
    {"L", "Liquidation", "N"},
    {"S", "Active - Proposal to Strike off", "Y"},
    {"D", "Dissolved", "N"},
    {"R", "Receivership", "N"},
};

const char* const kAccountsTypes[][2] = {
    {"MIC", "Micro-entity accounts"},
    {"SML", "Small company accounts"},
    {"MED", "Medium company accounts"},
    {"FUL", "Full accounts"},
    {"GRP", "Group accounts"},
};

const char* const kChargeTypes[][2] = {
    {"DEB", "Debenture"},
    {"FFC", "Fixed and floating charge"},
    {"CBD", "Charge over book debts"},
    {"LGM", "Legal mortgage"},
    {"FXC", "Fixed charge"},
    {"ALL", "All assets debenture"},
    {"RDD", "Rent deposit deed"},
};
const char* const kFactoringChargeTypes[] = {"DEB", "FFC", "CBD", "ALL"};
const char* const kOtherChargeTypes[] = {"LGM", "FXC", "DEB", "ALL", "RDD", "LGM"};

// Each lender is written several ways; all of a lender's spellings normalise
// (DATA.md's rule) to the first one. etc/lookups/person_entitled_adjusted.csv
// lists the normalised names.
const std::vector<std::vector<const char*>> kFactors = {
    {"HSBC INVOICE FINANCE (UK) LIMITED", "Hsbc Invoice Finance (Uk) Ltd", "H.S.B.C. INVOICE FINANCE (UK) LTD"},
    {"LLOYDS BANK COMMERCIAL FINANCE LIMITED", "Lloyds Bank Commercial Finance Ltd."},
    {"BIBBY FINANCIAL SERVICES LIMITED", "Bibby Financial Services Ltd", "BIBBY FINANCIAL SERVICES LTD."},
    {"CLOSE BROTHERS INVOICE FINANCE LIMITED", "Close Brothers Invoice Finance Ltd"},
    {"ABN AMRO COMMERCIAL FINANCE PLC", "Abn Amro Commercial Finance Plc"},
    {"THE SKIPTON BUSINESS FINANCE LIMITED", "Skipton Business Finance Ltd"},
    {"ULTIMATE INVOICE FINANCE LIMITED", "Ultimate Invoice Finance Ltd"},
    {"ALDERMORE INVOICE FINANCE LIMITED", "Aldermore Invoice Finance Ltd."},
    {"INVESTEC ASSET FINANCE & INVOICE DISCOUNTING LIMITED", "Investec Asset Finance and Invoice Discounting Ltd"},
};
const std::vector<std::vector<const char*>> kBanks = {
    {"BARCLAYS BANK PLC", "Barclays Bank Plc", "BARCLAYS BANK P.L.C."},
    {"NATIONAL WESTMINSTER BANK PLC", "National Westminster Bank Plc"},
    {"LLOYDS BANK PLC", "Lloyds Bank Plc"},
    {"HSBC UK BANK PLC", "Hsbc Uk Bank Plc"},
    {"SANTANDER UK PLC", "Santander UK Plc"},
    {"THE ROYAL BANK OF SCOTLAND PLC", "The Royal Bank of Scotland Plc"},
    {"METRO BANK PLC", "Metro Bank Plc"},
    {"FUNDING CIRCLE TRUSTEE LIMITED", "Funding Circle Trustee Ltd"},
    {"SHAWBROOK BANK LIMITED", "Shawbrook Bank Ltd"},
};

const char* const kNameWords[] = {
    "ACORN", "ALPHA", "ANCHOR", "APEX", "ARROW", "ASH", "ATLAS", "BEACON", "BIRCH", "BLUE",
    "BRIDGE", "BRIGHT", "CASTLE", "CEDAR", "CENTRAL", "CLEAR", "COAST", "CROWN", "DELTA", "EAGLE",
    "EAST", "ELM", "FALCON", "FIRST", "FOREST", "GLOBAL", "GOLDEN", "GREEN", "HARBOUR", "HERITAGE",
    "HIGHLAND", "HILL", "IRON", "KING'S", "LAKE", "LION", "MAPLE", "MERIDIAN", "MILL", "NORTH",
    "OAK", "O'BRIEN", "ORCHARD", "PARK", "PEAK", "PIONEER", "PRIME", "QUAY", "RED", "RIVER",
    "ROYAL", "SILVER", "SOUTH", "STAR", "STONE", "SUMMIT", "THAMES", "UNION", "VALLEY", "WEST"};
const char* const kNameTrades[] = {
    "BUILDERS", "CONSULTING", "ENGINEERING", "FOODS", "HOLDINGS", "LOGISTICS", "MEDIA", "MOTORS",
    "PROPERTIES", "RECRUITMENT", "SERVICES", "SOLUTIONS", "SUPPLIES", "SYSTEMS", "TECHNOLOGIES",
    "TRADING", "TRAVEL", "VENTURES", "& SONS", "& CO"};
const char* const kPostcodeAreas[] = {"AB", "B", "BS", "CF", "E", "EC", "EH", "G", "L", "LS", "M",
                                      "N", "NE", "NG", "NW", "S", "SE", "SW", "W", "WC"};

template <size_t N>
const Weighted& PickWeighted(Rng& rng, const Weighted (&items)[N]) {
  double total = 0;
  for (const auto& i : items) total += i.weight;
  double x = rng.Uniform() * total;
  for (const auto& i : items) {
    if ((x -= i.weight) < 0) return i;
  }
  return items[N - 1];
}

const Sic& PickSic(Rng& rng) {
  double total = 0;
  for (const auto& s : kSics) total += s.weight;
  double x = rng.Uniform() * total;
  for (const auto& s : kSics) {
    if ((x -= s.weight) < 0) return s;
  }
  return kSics[0];
}

const char* PickLender(Rng& rng, const std::vector<std::vector<const char*>>& lenders) {
  const auto& spellings = lenders[rng.Next() % lenders.size()];
  return spellings[rng.Next() % spellings.size()];
}

std::string RegNumber(uint64_t index) {
  char buf[16];
  // One company in 12 is Scottish, one in 40 from Northern Ireland; the
  // number part stays unique because it is the company's index.
  if (index % 12 == 5) {
    std::snprintf(buf, sizeof buf, "SC%06llu", static_cast<unsigned long long>(index % 1000000));
  } else if (index % 40 == 7) {
    std::snprintf(buf, sizeof buf, "NI%06llu", static_cast<unsigned long long>(index % 1000000));
  } else {
    std::snprintf(buf, sizeof buf, "%08llu", static_cast<unsigned long long>(index + 100000));
  }
  return buf;
}

std::string CompanyName(Rng& rng, const std::string& type) {
  std::string name = std::string(rng.Pick(kNameWords)) + " " + rng.Pick(kNameTrades);
  if (rng.Chance(0.3)) name = std::string(rng.Pick(kNameWords)) + " " + name;
  if (type == "LLP") return name + " LLP";
  if (type == "PLC") return name + " PLC";
  if (type == "PRU") return name;
  return name + (rng.Chance(0.1) ? " LTD" : " LIMITED");
}

std::string Postcode(Rng& rng) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%d %d%c%c", rng.Pick(kPostcodeAreas), static_cast<int>(rng.Int(1, 28)),
                static_cast<int>(rng.Int(0, 9)), static_cast<char>('A' + rng.Int(0, 25)),
                static_cast<char>('A' + rng.Int(0, 25)));
  return buf;
}

double Clamp(double x, double lo, double hi) { return std::min(hi, std::max(lo, x)); }
double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The inputs of the logistic function that do not come from a sheet.
struct CompanyTraits {
  double section_bonus = 0;
  double employee_term = 0;
  double noise = 0;
  int64_t incorporated_day = 0;
};

double SectionBonus(const std::string& section) {
  if (section == "C") return 0.9;
  if (section == "G") return 0.7;
  if (section == "N") return 1.1;
  return 0;
}

// The monthly hazard in month `month` given the newest sheet before it
// (nullptr: none yet) and the sheet before that one (for growth).
double MonthlyHazard(const CompanyTraits& t, int month, const Sheet* sheet, const Sheet* previous) {
  double logit = -6.6 + t.section_bonus + t.employee_term + t.noise;
  double age_years = static_cast<double>(FirstDayOfMonth(month) - t.incorporated_day) / 365.25;
  logit -= 0.7 * Clamp((age_years - 10) / 8, -1.2, 2.5);
  if (sheet != nullptr) {
    const auto& v = sheet->final_values.ac01;
    if (v[kTurnover] && v[kTradeDebtors] && *v[kTurnover] > 0) {
      double days = static_cast<double>(*v[kTradeDebtors]) / static_cast<double>(*v[kTurnover]) * 365;
      logit += 1.3 * Clamp((days - 45) / 25, -2, 3);
    }
    if (previous != nullptr && v[kTurnover] && previous->final_values.ac01[kTurnover] &&
        *previous->final_values.ac01[kTurnover] != 0) {
      double prev = static_cast<double>(*previous->final_values.ac01[kTurnover]);
      double growth = (static_cast<double>(*v[kTurnover]) - prev) / std::fabs(prev);
      logit += 0.9 * Clamp(growth / 0.25, -2, 3);
    }
    if (v[kCash] && v[kCurrentLiabilities] && *v[kCash] > 0 && *v[kCurrentLiabilities] > 0) {
      double liquidity = static_cast<double>(*v[kCash]) / static_cast<double>(*v[kCurrentLiabilities]);
      logit -= 1.0 * Clamp(std::log(liquidity), -2.5, 2.5);
    }
  }
  return Sigmoid(logit);
}

Money Round(double x) { return static_cast<int64_t>(std::llround(x)); }

// A company's trading, drawn year by year; values in GBP.
struct Trading {
  double turnover, growth_mean, debtor_days, liquidity;
  int employees_for_size;
};

SheetValues DrawSheet(Rng& rng, Trading& tr, const std::string& type, bool audited) {
  double dd = tr.debtor_days * rng.LogNormal(0, 0.12);
  double liq = tr.liquidity * rng.LogNormal(0, 0.15);
  double t = tr.turnover;
  double cl = t * rng.LogNormal(std::log(0.18), 0.35);
  double cash = liq * cl;
  double debtors = t * dd / 365;
  double stock = t * 0.06 * rng.Uniform();
  double ca = debtors + cash + stock;
  double tc = cl * (0.3 + 0.4 * rng.Uniform());
  double fa = t * rng.LogNormal(std::log(0.25), 0.8);
  double ltl = rng.Chance(0.4) ? t * rng.LogNormal(std::log(0.12), 0.6) : 0;
  double op = t * rng.Normal(0.06, 0.07);
  SheetValues v;
  v.ac01 = {Round(t),      Round(t * (0.15 + 0.4 * rng.Uniform())), Round(op), Round(op - ltl * 0.06),
            Round(fa),     Round(debtors),                          Round(cash), Round(ca),
            Round(tc),     Round(cl),                               Round(ltl),  Round(fa + ca - cl - ltl)};
  v.ac06 = {Round(tr.employees_for_size * 26000 * rng.LogNormal(0, 0.2)),
            rng.Chance(0.25) ? Round(t * 0.3 * rng.Uniform()) : Money(),
            Round(40000 * rng.LogNormal(0, 0.5)), audited ? Round(3000 + t * 0.002) : Money()};
  if (type == "MIC") {  // a micro-entity files a summary balance sheet only
    for (int c : {0, 1, 2, 3, 5, 6, 8, 10}) v.ac01[c].reset();
    v.ac06 = {};
  } else if (type == "SML" && rng.Chance(0.4)) {  // abridged: no profit and loss account
    for (int c : {0, 1, 2}) v.ac01[c].reset();
  }
  for (auto& f : v.ac01) {
    if (f && rng.Chance(0.02)) f.reset();
  }
  return v;
}

SheetValues Restate(Rng& rng, const SheetValues& final_values) {
  SheetValues v = final_values;
  for (int c : {kTurnover, kTradeDebtors, kCash, kNetWorth}) {
    if (v.ac01[c]) v.ac01[c] = Round(static_cast<double>(*v.ac01[c]) * (0.85 + 0.3 * rng.Uniform()));
  }
  if (v.ac06[0]) v.ac06[0] = Round(static_cast<double>(*v.ac06[0]) * (0.9 + 0.2 * rng.Uniform()));
  return v;
}

std::string AccountsType(Rng& rng, double turnover, std::optional<int64_t> employees) {
  if (turnover < 632000 && (!employees || *employees <= 10)) return rng.Chance(0.7) ? "MIC" : "SML";
  if (turnover < 10.2e6) return "SML";
  if (turnover < 36e6) return "MED";
  return rng.Chance(0.3) ? "GRP" : "FUL";
}

int64_t DayInMonth(Rng& rng, int month) {
  return FirstDayOfMonth(month) + rng.Int(0, LastDayOfMonth(month) - FirstDayOfMonth(month));
}

}  // namespace

int64_t Calendar::stock_day() const { return FirstDayOfMonth(stock_month); }
int64_t Calendar::as_of_day() const { return FirstDayOfMonth(stock_month + deliveries - 1); }

int Calendar::DeliveryOf(int64_t day) const {
  if (day < stock_day()) return 0;
  if (day >= as_of_day()) return -1;
  return MonthOfDay(day) - stock_month + 1;
}

std::string Company::StatusOn(int64_t day) const {
  std::string s = "A";
  for (const auto& c : statuses) {
    if (c.day <= day) s = c.status;
  }
  return s;
}

Company SimulateCompany(uint64_t seed, uint64_t index, const Calendar& cal) {
  Rng rng = Rng::For(seed, 1, index);
  Company c;
  c.regnumber = RegNumber(index);
  c.type = PickWeighted(rng, kCompanyTypes).code;
  c.name = CompanyName(rng, c.type);
  c.postcode = Postcode(rng);
  const Sic& sic = PickSic(rng);
  std::string section = sic.section;
  if (rng.Chance(0.03)) {
    section.clear();  // SIC not given
  } else {
    c.sic = sic.code;
  }
  int employees = static_cast<int>(std::min(5000.0, std::round(rng.LogNormal(1.3, 1.2))));
  if (!rng.Chance(0.12)) c.employees = employees;

  const int64_t as_of = cal.as_of_day();
  c.incorporated_day = rng.Int(DaysFromCivil(1990, 1, 1), as_of - 1);
  c.statuses.push_back({c.incorporated_day, "A"});
  std::optional<int64_t> dissolved_day;
  double years_to_dissolution = -std::log(1.0 - rng.Uniform()) / (employees <= 2 ? 0.035 : 0.015);
  int64_t dissolution = c.incorporated_day + static_cast<int64_t>(years_to_dissolution * 365.25);
  if (dissolution < as_of + 400) {
    dissolved_day = dissolution;
    int64_t before = dissolution - rng.Int(60, 180);
    if (before > c.incorporated_day) c.statuses.push_back({before, rng.Chance(0.3) ? "L" : "S"});
    c.statuses.push_back({dissolution, "D"});
  }

  CompanyTraits traits;
  traits.section_bonus = SectionBonus(section);
  traits.employee_term = c.employees ? 0.5 * Clamp(std::log(1.0 + *c.employees) - 2, -2, 3) : 0;
  traits.noise = rng.Normal(0, 0.6);
  traits.incorporated_day = c.incorporated_day;

  Trading tr{60000.0 * std::pow(std::max(1, employees), 0.9) * rng.LogNormal(0, 0.7),
             rng.Normal(0.03, 0.07), rng.LogNormal(std::log(42), 0.45), rng.LogNormal(0, 0.55),
             std::max(1, employees)};
  const bool audited_size = tr.turnover > 10.2e6;

  // Balance sheets: the first 12-18 months after incorporation, then yearly,
  // now and then after a changed accounting reference date.
  std::vector<Sheet> all;
  int month = MonthOfDay(c.incorporated_day) + 12 + static_cast<int>(rng.Int(0, 6));
  int last_month = MonthOfDay(as_of) - 1;
  while (month <= last_month && (!dissolved_day || LastDayOfMonth(month) < *dissolved_day - 90)) {
    Sheet s;
    s.month = month;
    s.type = AccountsType(rng, tr.turnover, c.employees);
    s.final_values = DrawSheet(rng, tr, s.type, audited_size || s.type == "FUL" || s.type == "GRP");
    s.filed_day = LastDayOfMonth(month) + rng.Int(60, 270);
    if (rng.Chance(0.03)) {
      int64_t restated = s.filed_day + rng.Int(30, 300);
      if (restated < as_of) {
        s.restated_day = restated;
        s.original = Restate(rng, s.final_values);
      }
    }
    all.push_back(std::move(s));
    int gap = rng.Chance(0.04) ? static_cast<int>(rng.Int(6, 18)) : 12;
    tr.turnover *= std::exp(rng.Normal(tr.growth_mean, 0.18) * gap / 12.0);
    month += gap;
  }

  // Month by month: the planted hazard, and ordinary bank charges.
  int first_month = MonthOfDay(c.incorporated_day) + 1;
  int end_month = MonthOfDay(as_of) + 12;
  std::vector<double> hazard(static_cast<size_t>(std::max(0, end_month - first_month + 1)), 0.0);
  size_t newest = 0;  // sheets before index `newest` are dated before the month
  int seq = 0;
  auto add_charge = [&](int64_t day, bool factoring) {
    Charge ch;
    char id[32];
    std::snprintf(id, sizeof id, "%s%04d", c.regnumber.c_str(), ++seq);
    ch.id = id;
    ch.created_day = day;
    ch.type = factoring ? rng.Pick(kFactoringChargeTypes) : rng.Pick(kOtherChargeTypes);
    ch.persons_entitled.push_back(PickLender(rng, factoring ? kFactors : kBanks));
    if (rng.Chance(0.15)) ch.persons_entitled.push_back(PickLender(rng, kBanks));
    if (rng.Chance(factoring ? 0.3 : 0.4)) {
      int64_t satisfied = day + rng.Int(180, 3000);
      if (satisfied < as_of) ch.satisfied_day = satisfied;
    }
    c.charges.push_back(std::move(ch));
  };
  for (int m = first_month; m <= end_month; ++m) {
    while (newest < all.size() && all[newest].month < m) ++newest;
    bool alive = !dissolved_day || *dissolved_day >= FirstDayOfMonth(m);
    if (!alive) break;
    const Sheet* sheet = newest > 0 ? &all[newest - 1] : nullptr;
    const Sheet* prev = newest > 1 && all[newest - 2].month >= MonthIndex(kFirstAccountsYear, 1)
                            ? &all[newest - 2] : nullptr;
    double h = MonthlyHazard(traits, m, sheet, prev);
    hazard[static_cast<size_t>(m - first_month)] = h;
    if (FirstDayOfMonth(m) >= as_of) continue;  // only hazards past the as-of date
    if (!c.user_day && rng.Chance(h)) {
      c.user_day = DayInMonth(rng, m);
      add_charge(*c.user_day, true);
    } else if (rng.Chance(0.0025)) {
      add_charge(DayInMonth(rng, m), c.user_day.has_value() && rng.Chance(0.1));
    }
  }

  for (auto& s : all) {
    if (s.month < MonthIndex(kFirstAccountsYear, 1)) continue;
    double survive = 1;
    for (int m = s.month + 1; m <= s.month + 12; ++m) {
      int i = m - first_month;
      if (i >= 0 && i < static_cast<int>(hazard.size())) survive *= 1 - hazard[static_cast<size_t>(i)];
    }
    s.true_probability = 1 - survive;
    c.sheets.push_back(std::move(s));
  }
  return c;
}

const std::vector<LookupRow>& LookupRows(const std::string& table) {
  static const std::map<std::string, std::vector<LookupRow>> kRows = [] {
    std::map<std::string, std::vector<LookupRow>> rows;
    for (const auto& t : kCompanyTypes) rows["LUCT01"].push_back({{t.code, t.description}});
    for (const auto& s : kStatuses) rows["LULQ01"].push_back({{s[0], s[1], s[2]}});
    for (const auto& a : kAccountsTypes) rows["LUAT01"].push_back({{a[0], a[1]}});
    for (const auto& f : kChargeTypes) rows["LUFT01"].push_back({{f[0], f[1]}});
    for (const auto& s : kSics) rows["LUSC01"].push_back({{s.code, s.description, s.section}});
    for (const auto& s : kSections) rows["LUSC02"].push_back({{s[0], s[1]}});
    return rows;
  }();
  static const std::vector<LookupRow> kNone;
  auto it = kRows.find(table);
  return it == kRows.end() ? kNone : it->second;
}

}  // namespace bucketd::tools
