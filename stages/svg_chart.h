// Self-contained HTML pages with inline SVG charts (no scripts, no external
// assets: they open offline and in any browser).
#ifndef BUCKETD_STAGES_SVG_CHART_H_
#define BUCKETD_STAGES_SVG_CHART_H_

#include <string>
#include <utility>
#include <vector>

namespace bucketd::stages {

std::string HtmlEscape(const std::string& text);
// `value` through printf's `format` (one double), for pages and CSVs.
std::string FormatNumber(double value, const char* format = "%.4g");

// Horizontal bars, one per label.
std::string SvgBars(const std::string& title, const std::vector<std::string>& labels,
                    const std::vector<double>& values);
// Vertical bars over bins [edges[i], edges[i+1]).
std::string SvgHistogram(const std::string& title, const std::vector<double>& edges,
                         const std::vector<double>& counts);
struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // x, y in [0, 1]
};
// Lines on a unit square (ROC, PR curves).
std::string SvgUnitLines(const std::string& title, const std::string& x_label, const std::string& y_label,
                         const std::vector<Series>& series);

// <!DOCTYPE html> … with `body` (already HTML).
std::string HtmlPage(const std::string& title, const std::string& body);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_SVG_CHART_H_
