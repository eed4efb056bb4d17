// XGBoost through its C API (Debian's libxgboost): a DMatrix from a dense
// float matrix and a booster trained, saved, loaded and asked to predict.
#ifndef BUCKETD_STAGES_XGB_MODEL_H_
#define BUCKETD_STAGES_XGB_MODEL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace bucketd::stages {

class XgbMatrix {
 public:
  // rows x names.size(), row-major; NaN is missing. `labels` may be empty.
  static Result<XgbMatrix> Create(const std::vector<float>& data, size_t rows, const std::vector<std::string>& names,
                                  const std::vector<float>& labels);
  XgbMatrix(XgbMatrix&&) noexcept;
  ~XgbMatrix();
  void* handle() const { return h_; }

 private:
  XgbMatrix() = default;
  void* h_ = nullptr;
};

class XgbBooster {
 public:
  // Trains `rounds` rounds with `params` (XGBoost's names and values).
  static Result<XgbBooster> Train(const XgbMatrix& train, const std::map<std::string, std::string>& params,
                                  int rounds);
  // From a saved model's bytes (JSON or UBJSON).
  static Result<XgbBooster> FromBytes(const std::string& bytes);
  XgbBooster(XgbBooster&&) noexcept;
  ~XgbBooster();
  Result<std::string> ToJson() const;
  Result<std::vector<float>> Predict(const XgbMatrix& m) const;
  // Total gain per feature name.
  Result<std::map<std::string, double>> Importance() const;

 private:
  XgbBooster() = default;
  void* h_ = nullptr;
};

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_XGB_MODEL_H_
