// Turns simulated companies into the text files of every delivery (one
// `|`-separated file per table per delivery, DATA.md's format) plus the
// ground-truth file, streaming: each company's rows go out as soon as it is
// simulated, so memory does not grow with the number of companies.
#ifndef BUCKETD_TOOLS_DELIVERY_WRITER_H_
#define BUCKETD_TOOLS_DELIVERY_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/credit_model.h"

namespace bucketd::tools {

// The area under the ROC curve of probabilities against outcomes, from a
// fine histogram (bounded memory for any number of rows).
class AucAccumulator {
 public:
  void Add(double probability, bool positive);
  double Auc() const;
  uint64_t positives() const { return positives_; }
  uint64_t negatives() const { return negatives_; }

 private:
  static constexpr int kBins = 20000;
  std::vector<uint64_t> pos_ = std::vector<uint64_t>(kBins), neg_ = std::vector<uint64_t>(kBins);
  uint64_t positives_ = 0, negatives_ = 0;
};

struct DeliveryStats {
  std::vector<std::vector<uint64_t>> rows;  // [delivery][table]
  uint64_t companies = 0, users = 0, sheets = 0;
  AucAccumulator training_sheets;  // the true probability against the label
};

class DeliveryWriter {
 public:
  // Creates <work_dir>/UKLTD_M_YYYYMM01/<T>_M_YYYYMM01.txt for every delivery
  // and table, with headers, the lookups in the stock, and the ground truth.
  static Result<std::unique_ptr<DeliveryWriter>> Create(const std::string& work_dir,
                                                        const std::string& ground_truth_path,
                                                        const Calendar& calendar);
  ~DeliveryWriter();
  void Add(const Company& company);
  Status Finish();
  const DeliveryStats& stats() const { return stats_; }
  // The text file of `table` (index into DeliveryTables()) in delivery `k`.
  std::string TextPath(int delivery, size_t table) const;

 private:
  struct Out {
    FILE* file = nullptr;
    std::string buffer;
  };
  DeliveryWriter(std::string work_dir, Calendar calendar) : work_dir_(std::move(work_dir)), cal_(calendar) {}
  void Row(int delivery, size_t table, const std::vector<std::string>& fields);
  void Flush(Out& out);
  void SheetRows(int delivery, const Company& c, const Sheet& s, const SheetValues& v);
  void ChargeRows(int delivery, const Company& c, const Charge& ch, int64_t as_of_day);

  std::string work_dir_;
  Calendar cal_;
  std::vector<std::vector<Out>> outs_;  // [delivery][table]
  Out truth_;
  DeliveryStats stats_;
  bool write_failed_ = false;
};

}  // namespace bucketd::tools

#endif  // BUCKETD_TOOLS_DELIVERY_WRITER_H_
