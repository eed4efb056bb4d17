// Classifier figures on a holdout: ROC AUC, PR AUC (average precision),
// confusion counts at a threshold, and the curves for the report.
#ifndef BUCKETD_STAGES_METRICS_H_
#define BUCKETD_STAGES_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace bucketd::stages {

// P(score of a random positive > that of a random negative), ties half.
double RocAuc(const std::vector<float>& scores, const std::vector<float>& labels);
// Average precision: the mean of the precision at each positive, ranked by score.
double AveragePrecision(const std::vector<float>& scores, const std::vector<float>& labels);

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  double precision() const { return tp + fp ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0; }
  double recall() const { return tp + fn ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0; }
  double f1() const {
    double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
  }
};
// Positive when score >= threshold.
Confusion ConfusionAt(const std::vector<float>& scores, const std::vector<float>& labels, double threshold);

using Curve = std::vector<std::pair<double, double>>;
Curve RocCurve(const std::vector<float>& scores, const std::vector<float>& labels, size_t max_points = 200);
Curve PrCurve(const std::vector<float>& scores, const std::vector<float>& labels, size_t max_points = 200);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_METRICS_H_
