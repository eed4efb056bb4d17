#include "stages/svg_chart.h"

#include <algorithm>
#include <cstdio>

namespace bucketd::stages {
namespace {

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

std::string Num(double v) { return FormatNumber(v); }
std::string Px(double v) { return FormatNumber(v, "%.1f"); }

}  // namespace

std::string FormatNumber(double value, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string SvgBars(const std::string& title, const std::vector<std::string>& labels,
                    const std::vector<double>& values) {
  const double row = 18, left = 170, width = 360;
  double max = 0;
  for (double v : values) max = std::max(max, v);
  double height = 30 + row * static_cast<double>(labels.size());
  std::string s = "<figure><svg class=\"chart bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\"620\" height=\"" +
                  Px(height) + "\" role=\"img\"><title>" + HtmlEscape(title) + "</title>";
  s += "<text x=\"0\" y=\"14\" class=\"t\">" + HtmlEscape(title) + "</text>";
  for (size_t i = 0; i < labels.size(); ++i) {
    double y = 24 + row * static_cast<double>(i);
    double w = max > 0 ? width * values[i] / max : 0;
    s += "<text x=\"" + Px(left - 6) + "\" y=\"" + Px(y + 12) + "\" text-anchor=\"end\">" + HtmlEscape(labels[i]) +
         "</text><rect x=\"" + Px(left) + "\" y=\"" + Px(y) + "\" width=\"" + Px(w) + "\" height=\"" + Px(row - 4) +
         "\" fill=\"" + kColors[0] + "\"/><text x=\"" + Px(left + w + 4) + "\" y=\"" + Px(y + 12) + "\">" +
         Num(values[i]) + "</text>";
  }
  return s + "</svg></figure>\n";
}

std::string SvgHistogram(const std::string& title, const std::vector<double>& edges,
                         const std::vector<double>& counts) {
  const double w = 560, h = 160, left = 40, top = 24;
  double max = 0;
  for (double c : counts) max = std::max(max, c);
  std::string s = "<figure><svg class=\"chart histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"620\" height=\"" +
                  Px(top + h + 30) + "\" role=\"img\"><title>" + HtmlEscape(title) + "</title>";
  s += "<text x=\"0\" y=\"14\" class=\"t\">" + HtmlEscape(title) + "</text>";
  double bw = counts.empty() ? 0 : w / static_cast<double>(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    double bh = max > 0 ? h * counts[i] / max : 0;
    s += "<rect x=\"" + Px(left + bw * static_cast<double>(i)) + "\" y=\"" + Px(top + h - bh) + "\" width=\"" +
         Px(std::max(0.5, bw - 1)) + "\" height=\"" + Px(bh) + "\" fill=\"" + kColors[0] + "\"><title>[" +
         Num(edges[i]) + ", " + Num(edges[i + 1]) + "): " + Num(counts[i]) + "</title></rect>";
  }
  if (!edges.empty()) {
    s += "<text x=\"" + Px(left) + "\" y=\"" + Px(top + h + 16) + "\">" + Num(edges.front()) + "</text>";
    s += "<text x=\"" + Px(left + w) + "\" y=\"" + Px(top + h + 16) + "\" text-anchor=\"end\">" + Num(edges.back()) +
         "</text>";
  }
  return s + "</svg></figure>\n";
}

std::string SvgUnitLines(const std::string& title, const std::string& x_label, const std::string& y_label,
                         const std::vector<Series>& series) {
  const double size = 300, left = 50, top = 24;
  std::string s = "<figure><svg class=\"chart curve\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                  Px(left + size + 170) + "\" height=\"" + Px(top + size + 40) + "\" role=\"img\"><title>" +
                  HtmlEscape(title) + "</title>";
  s += "<text x=\"0\" y=\"14\" class=\"t\">" + HtmlEscape(title) + "</text>";
  s += "<rect x=\"" + Px(left) + "\" y=\"" + Px(top) + "\" width=\"" + Px(size) + "\" height=\"" + Px(size) +
       "\" fill=\"none\" stroke=\"#999\"/>";
  s += "<text x=\"" + Px(left + size / 2) + "\" y=\"" + Px(top + size + 30) + "\" text-anchor=\"middle\">" +
       HtmlEscape(x_label) + "</text>";
  s += "<text x=\"12\" y=\"" + Px(top + size / 2) + "\" transform=\"rotate(-90 12 " + Px(top + size / 2) +
       ")\" text-anchor=\"middle\">" + HtmlEscape(y_label) + "</text>";
  for (size_t k = 0; k < series.size(); ++k) {
    std::string pts;
    for (const auto& [x, y] : series[k].points) {
      pts += Px(left + x * size) + "," + Px(top + (1 - y) * size) + " ";
    }
    const char* color = kColors[k % 5];
    s += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"2\" points=\"" + pts + "\"/>";
    s += "<text x=\"" + Px(left + size + 10) + "\" y=\"" + Px(top + 16 + 18 * static_cast<double>(k)) + "\" fill=\"" +
         color + "\">" + HtmlEscape(series[k].name) + "</text>";
  }
  return s + "</svg></figure>\n";
}

std::string HtmlPage(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + HtmlEscape(title) +
         "</title><style>body{font:14px sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#eee}"
         "svg text{font:11px sans-serif}svg text.t{font-weight:bold;font-size:13px}figure{margin:12px 0}"
         "</style></head><body><h1>" + HtmlEscape(title) + "</h1>\n" + body + "</body></html>\n";
}

}  // namespace bucketd::stages
