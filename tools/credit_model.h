// The simulated companies behind bucketgen's deliveries: one company's whole
// history (incorporation, balance sheets, restatements, charges, status
// changes, dissolution) drawn from its own random stream, so companies can be
// generated one at a time in bounded memory and in any order.
//
// The planted signal. A company's chance of becoming an invoice-finance user
// in a calendar month m is a logistic function of what the bureau delivers on
// its newest balance sheet dated before m (a null input contributes 0):
//
//   logit(h) = -6.6
//            + 1.3 * clamp((debtor days - 45) / 25, -2, 3)      debtor days = TRADEDEBTORS / TURNOVER * 365
//            + 0.9 * clamp(turnover growth / 0.25, -2, 3)       growth against the previous delivered sheet
//            - 1.0 * clamp(ln(CASH / CURRENTLIABILITIES), -2.5, 2.5)
//            + section bonus: C manufacturing 0.9, G wholesale/retail 0.7, N administrative 1.1
//            - 0.7 * clamp((age in years - 10) / 8, -1.2, 2.5)
//            + 0.5 * clamp(ln(1 + EMPLOYEES) - 2, -2, 3)
//            + u,   u ~ Normal(0, 0.6) per company, never delivered
//
// With these weights the true probabilities of the training sheets reach a
// holdout AUC of about 0.82 (bucketgen prints it in summary.json).
//
// h is 0 once the company is dissolved. The company becomes a user in the
// first month its draw succeeds, on a uniform day of that month, by a charge
// whose person entitled is an invoice-finance provider. The true probability
// of a sheet dated D (the ground truth) is 1 - prod(1 - h_m) over the twelve
// months after D's month — the label window (D, D + 12 months] — given that
// the company is not a user at D. For windows reaching past the as-of date the
// hazard keeps using the newest sheet that exists, an approximation; those
// sheets are not used for training.
#ifndef BUCKETD_TOOLS_CREDIT_MODEL_H_
#define BUCKETD_TOOLS_CREDIT_MODEL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bucketd::tools {

// When the deliveries happen: the stock is dated the first day of
// `stock_month` (a month index, civil_date.h), then one per month.
struct Calendar {
  int stock_month = 0;
  int deliveries = 1;
  int64_t stock_day() const;
  int64_t as_of_day() const;  // the newest delivery's date
  // Which delivery reports a change made on `day`: 0 = the stock, k = the
  // delivery dated stock_month + k (holding month stock_month + k - 1), -1 =
  // none (on or after the newest delivery's date).
  int DeliveryOf(int64_t day) const;
};

using Money = std::optional<int64_t>;

// AC01's 13 value columns (ACCOUNTSTYPE aside) and AC06's 4, in table order.
struct SheetValues {
  std::array<Money, 12> ac01;  // TURNOVER .. NETWORTH
  std::array<Money, 4> ac06;   // WAGES .. AUDITFEES
};
enum Ac01Column { kTurnover = 0, kTradeDebtors = 5, kCash = 6, kCurrentLiabilities = 9, kNetWorth = 11 };

struct Sheet {
  int month = 0;         // month index; the date is that month's last day
  std::string type;      // LUAT01 code
  SheetValues final_values;
  std::optional<SheetValues> original;  // set when restated: what was filed first
  int64_t filed_day = 0;
  int64_t restated_day = 0;
  double true_probability = 0;
};

struct Charge {
  std::string id;
  int64_t created_day = 0;
  std::string type;
  std::optional<int64_t> satisfied_day;
  std::vector<std::string> persons_entitled;
};

struct StatusChange {
  int64_t day;
  std::string status;  // LULQ01 code
};

struct Company {
  std::string regnumber, name, type, sic, postcode;
  std::optional<int64_t> employees;
  int64_t incorporated_day = 0;
  std::vector<StatusChange> statuses;  // first: "A" at incorporation
  std::vector<Sheet> sheets;           // by date; only those dated from 2012 on
  std::vector<Charge> charges;         // by creation
  std::optional<int64_t> user_day;     // first invoice-finance charge
  std::string StatusOn(int64_t day) const;
};

Company SimulateCompany(uint64_t seed, uint64_t index, const Calendar& calendar);

// Lookup tables (rows without the header), as the stock delivers them.
struct LookupRow {
  std::vector<std::string> fields;
};
const std::vector<LookupRow>& LookupRows(const std::string& table);

}  // namespace bucketd::tools

#endif  // BUCKETD_TOOLS_CREDIT_MODEL_H_
