#include "stages/metrics.h"

#include <algorithm>
#include <numeric>

namespace bucketd::stages {
namespace {

// Indexes by score, highest first.
std::vector<size_t> ByScore(const std::vector<float>& scores) {
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return idx;
}

Curve Thin(Curve c, size_t max_points) {
  if (c.size() <= max_points) return c;
  Curve out;
  for (size_t i = 0; i < max_points; ++i) out.push_back(c[i * (c.size() - 1) / (max_points - 1)]);
  return out;
}

}  // namespace

double RocAuc(const std::vector<float>& scores, const std::vector<float>& labels) {
  auto idx = ByScore(scores);
  double pos = 0, neg = 0;
  for (float l : labels) (l > 0.5f ? pos : neg) += 1;
  if (pos == 0 || neg == 0) return 0;
  // Walk from the lowest score up, groups of equal scores together.
  double negatives_below = 0, wins = 0;
  for (size_t end = idx.size(); end > 0;) {
    size_t start = end;
    float s = scores[idx[end - 1]];
    double p = 0, n = 0;
    while (start > 0 && scores[idx[start - 1]] == s) {
      (labels[idx[start - 1]] > 0.5f ? p : n) += 1;
      --start;
    }
    wins += p * (negatives_below + 0.5 * n);
    negatives_below += n;
    end = start;
  }
  return wins / (pos * neg);
}

double AveragePrecision(const std::vector<float>& scores, const std::vector<float>& labels) {
  auto idx = ByScore(scores);
  double tp = 0, seen = 0, sum = 0, pos = 0;
  for (float l : labels) pos += l > 0.5f;
  if (pos == 0) return 0;
  for (size_t i : idx) {
    seen += 1;
    if (labels[i] > 0.5f) {
      tp += 1;
      sum += tp / seen;
    }
  }
  return sum / pos;
}

Confusion ConfusionAt(const std::vector<float>& scores, const std::vector<float>& labels, double threshold) {
  Confusion c;
  for (size_t i = 0; i < scores.size(); ++i) {
    bool predicted = scores[i] >= threshold, actual = labels[i] > 0.5f;
    if (predicted && actual) ++c.tp;
    else if (predicted) ++c.fp;
    else if (actual) ++c.fn;
    else ++c.tn;
  }
  return c;
}

Curve RocCurve(const std::vector<float>& scores, const std::vector<float>& labels, size_t max_points) {
  auto idx = ByScore(scores);
  double pos = 0, neg = 0;
  for (float l : labels) (l > 0.5f ? pos : neg) += 1;
  Curve c{{0, 0}};
  double tp = 0, fp = 0;
  for (size_t i : idx) {
    (labels[i] > 0.5f ? tp : fp) += 1;
    c.emplace_back(neg ? fp / neg : 0, pos ? tp / pos : 0);
  }
  return Thin(c, max_points);
}

Curve PrCurve(const std::vector<float>& scores, const std::vector<float>& labels, size_t max_points) {
  auto idx = ByScore(scores);
  double pos = 0;
  for (float l : labels) pos += l > 0.5f;
  Curve c;
  double tp = 0, seen = 0;
  for (size_t i : idx) {
    seen += 1;
    tp += labels[i] > 0.5f;
    c.emplace_back(pos ? tp / pos : 0, tp / seen);
  }
  return Thin(c, max_points);
}

}  // namespace bucketd::stages
