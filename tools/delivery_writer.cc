#include "tools/delivery_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "stages/delivery.h"
#include "tools/civil_date.h"

namespace bucketd::tools {
namespace {

enum Table : size_t { kCI01, kAC01, kAC06, kMR01, kMR02 };

std::string Num(const Money& m) { return m ? std::to_string(*m) : std::string(); }

std::string Prob(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", p);
  return buf;
}

}  // namespace

void AucAccumulator::Add(double p, bool positive) {
  double logit = std::log(std::max(p, 1e-12) / std::max(1 - p, 1e-12));
  int bin = static_cast<int>((logit + 14.0) / 20.0 * kBins);
  bin = std::min(kBins - 1, std::max(0, bin));
  (positive ? pos_ : neg_)[static_cast<size_t>(bin)]++;
  (positive ? positives_ : negatives_)++;
}

double AucAccumulator::Auc() const {
  if (positives_ == 0 || negatives_ == 0) return 0;
  // P(score of a positive > score of a negative), ties counted half.
  double wins = 0;
  uint64_t negatives_below = 0;
  for (size_t i = 0; i < pos_.size(); ++i) {
    wins += static_cast<double>(pos_[i]) * (static_cast<double>(negatives_below) + 0.5 * static_cast<double>(neg_[i]));
    negatives_below += neg_[i];
  }
  return wins / (static_cast<double>(positives_) * static_cast<double>(negatives_));
}

Result<std::unique_ptr<DeliveryWriter>> DeliveryWriter::Create(const std::string& work_dir,
                                                               const std::string& ground_truth_path,
                                                               const Calendar& calendar) {
  std::unique_ptr<DeliveryWriter> w(new DeliveryWriter(work_dir, calendar));
  const auto& tables = stages::DeliveryTables();
  w->outs_.resize(static_cast<size_t>(calendar.deliveries));
  w->stats_.rows.assign(static_cast<size_t>(calendar.deliveries), std::vector<uint64_t>(tables.size()));
  for (int k = 0; k < calendar.deliveries; ++k) {
    std::string dir = work_dir + "/" + stages::DeliveryName(FormatMonthStamp(calendar.stock_month + k));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::IOError("cannot create " + dir + ": " + std::strerror(errno));
    }
    w->outs_[static_cast<size_t>(k)].resize(tables.size());
    for (size_t t = 0; t < tables.size(); ++t) {
      auto& out = w->outs_[static_cast<size_t>(k)][t];
      std::string path = w->TextPath(k, t);
      out.file = std::fopen(path.c_str(), "wb");
      if (!out.file) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
      std::string header;
      for (const auto& col : tables[t].columns) header += (header.empty() ? "" : "|") + col;
      out.buffer = header + "\n";
      if (k == 0 && tables[t].lookup) {
        for (const auto& row : LookupRows(tables[t].name)) w->Row(0, t, row.fields);
      }
    }
  }
  w->truth_.file = std::fopen(ground_truth_path.c_str(), "wb");
  if (!w->truth_.file) {
    return Status::IOError("cannot create " + ground_truth_path + ": " + std::strerror(errno));
  }
  w->truth_.buffer = "REGNUMBER,ACCOUNTSDATE,PROBABILITY\n";
  return w;
}

DeliveryWriter::~DeliveryWriter() {
  for (auto& d : outs_) {
    for (auto& o : d) {
      if (o.file) std::fclose(o.file);
    }
  }
  if (truth_.file) std::fclose(truth_.file);
}

std::string DeliveryWriter::TextPath(int delivery, size_t table) const {
  std::string stamp = FormatMonthStamp(cal_.stock_month + delivery);
  return work_dir_ + "/" + stages::DeliveryName(stamp) + "/" +
         stages::TableFileName(stages::DeliveryTables()[table].name, stamp);
}

void DeliveryWriter::Flush(Out& out) {
  if (!out.buffer.empty() && std::fwrite(out.buffer.data(), 1, out.buffer.size(), out.file) != out.buffer.size()) {
    write_failed_ = true;
  }
  out.buffer.clear();
}

void DeliveryWriter::Row(int delivery, size_t table, const std::vector<std::string>& fields) {
  Out& out = outs_[static_cast<size_t>(delivery)][table];
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out.buffer += '|';
    out.buffer += fields[i];
  }
  out.buffer += '\n';
  stats_.rows[static_cast<size_t>(delivery)][table]++;
  if (out.buffer.size() > (256 << 10)) Flush(out);
}

void DeliveryWriter::SheetRows(int k, const Company& c, const Sheet& s, const SheetValues& v) {
  std::string date = FormatDate(LastDayOfMonth(s.month));
  std::vector<std::string> ac01{c.regnumber, date, s.type};
  for (const auto& m : v.ac01) ac01.push_back(Num(m));
  Row(k, kAC01, ac01);
  std::vector<std::string> ac06{c.regnumber, date};
  for (const auto& m : v.ac06) ac06.push_back(Num(m));
  Row(k, kAC06, ac06);
}

// A charge as it stands at the end of the delivery's month, with all its
// persons entitled (a later delivery's rows replace the earlier ones).
void DeliveryWriter::ChargeRows(int k, const Company& c, const Charge& ch, int64_t as_of_end) {
  bool satisfied = ch.satisfied_day && *ch.satisfied_day <= as_of_end;
  Row(k, kMR01, {c.regnumber, ch.id, FormatDate(ch.created_day), ch.type,
                 satisfied ? "SATISFIED" : "OUTSTANDING", satisfied ? FormatDate(*ch.satisfied_day) : ""});
  for (const auto& p : ch.persons_entitled) Row(k, kMR02, {ch.id, p});
}

void DeliveryWriter::Add(const Company& c) {
  const int64_t as_of = cal_.as_of_day();
  auto end_of = [&](int k) { return FirstDayOfMonth(cal_.stock_month + k) - 1; };
  stats_.companies++;
  if (c.user_day && *c.user_day < as_of) stats_.users++;

  // CI01: in the stock as it stood then; afterwards whenever it changed.
  auto ci01 = [&](int k) {
    Row(k, kCI01, {c.regnumber, c.name, c.type, c.StatusOn(end_of(k)), FormatDate(c.incorporated_day),
                   c.sic, c.postcode, c.employees ? std::to_string(*c.employees) : ""});
  };
  int born = cal_.DeliveryOf(c.incorporated_day);
  std::vector<int> ci01_at;
  if (born >= 0) ci01_at.push_back(born);
  for (const auto& st : c.statuses) {
    int k = cal_.DeliveryOf(st.day);
    if (k > 0 && (ci01_at.empty() || ci01_at.back() != k)) ci01_at.push_back(k);
  }
  for (int k : ci01_at) ci01(k);

  for (const auto& s : c.sheets) {
    int filed = cal_.DeliveryOf(s.filed_day);
    if (filed < 0) continue;
    int restated = s.original ? cal_.DeliveryOf(s.restated_day) : -1;
    if (restated == 0) {
      SheetRows(0, c, s, s.final_values);
    } else {
      SheetRows(filed, c, s, s.original ? *s.original : s.final_values);
      // Restated later, or in the same month: then the file holds both and
      // its last row wins.
      if (restated > 0) SheetRows(restated, c, s, s.final_values);
    }
    stats_.sheets++;
    std::string date = FormatDate(LastDayOfMonth(s.month));
    truth_.buffer += c.regnumber + "," + date + "," + Prob(s.true_probability) + "\n";
    if (truth_.buffer.size() > (256 << 10)) Flush(truth_);

    int64_t window_end = LastDayOfMonth(s.month + 12);
    int64_t sheet_day = LastDayOfMonth(s.month);
    bool after_user = c.user_day && *c.user_day <= sheet_day;
    if (!after_user && window_end <= as_of) {
      bool label = c.user_day && *c.user_day > sheet_day && *c.user_day <= window_end;
      stats_.training_sheets.Add(s.true_probability, label);
    }
  }

  for (const auto& ch : c.charges) {
    int created = cal_.DeliveryOf(ch.created_day);
    if (created < 0) continue;
    ChargeRows(created, c, ch, end_of(created));
    int satisfied = ch.satisfied_day ? cal_.DeliveryOf(*ch.satisfied_day) : -1;
    if (satisfied > created) ChargeRows(satisfied, c, ch, end_of(satisfied));
  }
}

Status DeliveryWriter::Finish() {
  for (auto& d : outs_) {
    for (auto& o : d) {
      Flush(o);
      if (std::fclose(o.file) != 0) write_failed_ = true;
      o.file = nullptr;
    }
  }
  Flush(truth_);
  if (std::fclose(truth_.file) != 0) write_failed_ = true;
  truth_.file = nullptr;
  if (write_failed_) return Status::IOError("writing the delivery files failed (disk full?)");
  return Status::OK();
}

}  // namespace bucketd::tools
