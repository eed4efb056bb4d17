#include "stages/xgb_model.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <utility>

namespace bucketd::stages {
namespace {

Status XgbError(const std::string& what) { return Status::IOError("xgboost: " + what + ": " + XGBGetLastError()); }

}  // namespace

Result<XgbMatrix> XgbMatrix::Create(const std::vector<float>& data, size_t rows, const std::vector<std::string>& names,
                                    const std::vector<float>& labels) {
  XgbMatrix m;
  DMatrixHandle h = nullptr;
  if (XGDMatrixCreateFromMat(data.data(), rows, names.size(), std::nanf(""), &h) != 0) {
    return XgbError("creating the matrix");
  }
  m.h_ = h;
  std::vector<const char*> cnames;
  for (const auto& n : names) cnames.push_back(n.c_str());
  if (!names.empty() && XGDMatrixSetStrFeatureInfo(h, "feature_name", cnames.data(), cnames.size()) != 0) {
    return XgbError("naming the features");
  }
  if (!labels.empty() && XGDMatrixSetFloatInfo(h, "label", labels.data(), labels.size()) != 0) {
    return XgbError("setting the labels");
  }
  return m;
}

XgbMatrix::XgbMatrix(XgbMatrix&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
XgbMatrix::~XgbMatrix() {
  if (h_) XGDMatrixFree(h_);
}

Result<XgbBooster> XgbBooster::Train(const XgbMatrix& train, const std::map<std::string, std::string>& params,
                                     int rounds) {
  XgbBooster b;
  DMatrixHandle dm[] = {train.handle()};
  BoosterHandle h = nullptr;
  if (XGBoosterCreate(dm, 1, &h) != 0) return XgbError("creating the booster");
  b.h_ = h;
  for (const auto& [k, v] : params) {
    if (XGBoosterSetParam(h, k.c_str(), v.c_str()) != 0) return XgbError("parameter " + k + "=" + v);
  }
  for (int i = 0; i < rounds; ++i) {
    if (XGBoosterUpdateOneIter(h, i, train.handle()) != 0) return XgbError("round " + std::to_string(i));
  }
  return b;
}

Result<XgbBooster> XgbBooster::FromBytes(const std::string& bytes) {
  XgbBooster b;
  BoosterHandle h = nullptr;
  if (XGBoosterCreate(nullptr, 0, &h) != 0) return XgbError("creating the booster");
  b.h_ = h;
  if (XGBoosterLoadModelFromBuffer(h, bytes.data(), bytes.size()) != 0) return XgbError("loading a model");
  return b;
}

XgbBooster::XgbBooster(XgbBooster&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
XgbBooster::~XgbBooster() {
  if (h_) XGBoosterFree(h_);
}

Result<std::string> XgbBooster::ToJson() const {
  bst_ulong len = 0;
  const char* out = nullptr;
  if (XGBoosterSaveModelToBuffer(h_, R"({"format": "json"})", &len, &out) != 0) return XgbError("saving a model");
  return std::string(out, len);
}

Result<std::vector<float>> XgbBooster::Predict(const XgbMatrix& m) const {
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  const char* config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  if (XGBoosterPredictFromDMatrix(h_, m.handle(), config, &shape, &dim, &out) != 0) return XgbError("predicting");
  bst_ulong n = dim > 0 ? shape[0] : 0;
  return std::vector<float>(out, out + n);
}

Result<std::map<std::string, double>> XgbBooster::Importance() const {
  bst_ulong n = 0, dim = 0;
  const char** names = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  if (XGBoosterFeatureScore(h_, R"({"importance_type": "total_gain"})", &n, &names, &dim, &shape, &scores) != 0) {
    return XgbError("feature importance");
  }
  std::map<std::string, double> out;
  for (bst_ulong i = 0; i < n; ++i) out[names[i]] = scores[i];
  return out;
}

}  // namespace bucketd::stages
