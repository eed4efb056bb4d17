// A table the ETL exported (CSV with a header), read from the store into the
// shape XGBoost takes: ids, label, numeric feature columns as a row-major
// float matrix with NaN for missing values.
#ifndef BUCKETD_STAGES_FEATURE_TABLE_H_
#define BUCKETD_STAGES_FEATURE_TABLE_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace bucketd::stages {

struct FeatureTable {
  std::vector<std::string> columns;           // every column, in file order
  std::vector<std::string> lines;             // every row's CSV text (for outputs that repeat it)
  std::vector<std::string> regnumber, accounts_date;
  std::vector<float> label;                   // empty when the table has none
  std::vector<std::string> features;          // names of the matrix's columns
  std::vector<float> matrix;                  // rows x features, NaN = missing
  size_t rows() const { return lines.size(); }
  float at(size_t row, size_t feature) const { return matrix[row * features.size() + feature]; }
};

// Reads s3://bucket/key. Columns in `exclude` and those holding any
// non-numeric value are not features; when `features` is given, exactly
// those columns are (in that order), and a missing one is an error.
Result<FeatureTable> ReadFeatureTable(store::Store& store, const std::string& bucket, const std::string& key,
                                      const std::set<std::string>& exclude,
                                      const std::vector<std::string>* features = nullptr);

// Splits one CSV line (RFC 4180 quotes).
std::vector<std::string> SplitCsvLine(const std::string& line);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_FEATURE_TABLE_H_
