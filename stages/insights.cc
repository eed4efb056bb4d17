#include "stages/insights.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "stages/feature_table.h"
#include "stages/stage_input.h"
#include "stages/svg_chart.h"

namespace bucketd::stages {
namespace {

using nlohmann::json;

const std::set<std::string> kCategorical = {"COMPANY_TYPE_GROUP", "SECTION", "LABEL", "ACCOUNTS_TYPE_CODE",
                                            "COMPANY_TYPE_CODE", "SECTION_CODE"};
const std::set<std::string> kIgnored = {"REGNUMBER", "ACCOUNTSDATE", "USERDATE"};

double Quantile(std::vector<float>& sorted, double q) {
  if (sorted.empty()) return NAN;
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

Status InsightsStage(runner::StageContext& ctx) {
  ASSIGN_OR_RETURN(MarkerRun run, StartFromMarker(ctx, "LOGS_QUERY_EXECUTION/", "logs_tables_YYYYMMDD.json"));
  const json& in = run.input;
  const std::string& date = run.date;
  const std::string& bucket = run.marker.bucket;
  const std::string base = "NOTEBOOKS_WORKFLOW/OUTPUT/insights_" + date;
  ASSIGN_OR_RETURN(bool rerun, BoolOption(in, "rerun", false));
  if (!rerun && AlreadyDone(ctx, bucket, base + ".html")) return Status::OK();
  ASSIGN_OR_RETURN(std::string table_key, StringOption(in, "table", "DATA/TABLES/training_" + date + ".csv"));
  ASSIGN_OR_RETURN(FeatureTable t, ReadFeatureTable(*ctx.store, bucket, table_key, kCategorical));

  // Missing values and categorical counts over the raw fields.
  std::vector<uint64_t> missing(t.columns.size());
  std::map<std::string, std::map<std::string, uint64_t>> categories;
  std::vector<std::string> group(t.rows());
  int group_col = -1;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i] == "COMPANY_TYPE_GROUP") group_col = static_cast<int>(i);
  }
  for (size_t r = 0; r < t.rows(); ++r) {
    auto fields = SplitCsvLine(t.lines[r]);
    for (size_t i = 0; i < fields.size() && i < t.columns.size(); ++i) {
      if (fields[i].empty()) missing[i]++;
      if (kCategorical.count(t.columns[i])) categories[t.columns[i]][fields[i].empty() ? "(missing)" : fields[i]]++;
    }
    group[r] = group_col >= 0 && static_cast<size_t>(group_col) < fields.size() ? fields[static_cast<size_t>(group_col)] : "";
  }

  json numbers = {{"date", date}, {"table", table_key}, {"rows", t.rows()}};
  std::string body = "<p>Table <code>" + HtmlEscape(table_key) + "</code>: <b>" + std::to_string(t.rows()) +
                     "</b> rows, " + std::to_string(t.columns.size()) + " columns.</p>\n<h2>Missing values</h2>\n";
  std::vector<std::string> miss_labels;
  std::vector<double> miss_values;
  json miss = json::object();
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (kIgnored.count(t.columns[i])) continue;
    miss[t.columns[i]] = missing[i];
    miss_labels.push_back(t.columns[i]);
    miss_values.push_back(t.rows() ? 100.0 * static_cast<double>(missing[i]) / static_cast<double>(t.rows()) : 0);
  }
  numbers["missing"] = miss;
  body += SvgBars("Missing values per column (% of rows)", miss_labels, miss_values);

  body += "<h2>Categorical columns</h2>\n";
  json cats = json::object();
  for (const auto& [col, counts] : categories) {
    std::vector<std::string> labels;
    std::vector<double> values;
    for (const auto& [v, n] : counts) {
      labels.push_back(v);
      values.push_back(static_cast<double>(n));
    }
    cats[col] = counts;
    body += SvgBars(col + " (rows)", labels, values);
  }
  numbers["categorical"] = cats;

  body += "<h2>Continuous columns</h2>\n";
  json cont = json::object();
  for (size_t f = 0; f < t.features.size(); ++f) {
    std::vector<float> values;
    std::map<std::string, std::vector<float>> by_group;
    for (size_t r = 0; r < t.rows(); ++r) {
      float v = t.at(r, f);
      if (std::isnan(v)) continue;
      values.push_back(v);
      by_group[group[r]].push_back(v);
    }
    std::sort(values.begin(), values.end());
    double lo = Quantile(values, 0.01), hi = Quantile(values, 0.99);
    const int bins = 30;
    std::vector<double> edges(bins + 1), counts(bins);
    for (int i = 0; i <= bins; ++i) edges[static_cast<size_t>(i)] = lo + (hi - lo) * i / bins;
    for (float v : values) {
      if (v < lo || v > hi || hi <= lo) continue;
      int b = std::min(bins - 1, static_cast<int>((v - lo) / (hi - lo) * bins));
      counts[static_cast<size_t>(b)]++;
    }
    double mean = 0;
    for (float v : values) mean += v;
    mean = values.empty() ? NAN : mean / static_cast<double>(values.size());
    json groups = json::object();
    std::string table = "<table><tr><th>company type</th><th>n</th><th>25%</th><th>median</th><th>75%</th></tr>";
    std::vector<std::string> glabels;
    std::vector<double> gmedians;
    for (auto& [g, gv] : by_group) {
      std::sort(gv.begin(), gv.end());
      double q1 = Quantile(gv, 0.25), med = Quantile(gv, 0.5), q3 = Quantile(gv, 0.75);
      groups[g.empty() ? "(missing)" : g] = {{"n", gv.size()}, {"p25", q1}, {"median", med}, {"p75", q3}};
      table += "<tr><td>" + HtmlEscape(g) + "</td><td>" + std::to_string(gv.size()) + "</td><td>" + FormatNumber(q1) +
               "</td><td>" + FormatNumber(med) + "</td><td>" + FormatNumber(q3) + "</td></tr>";
      glabels.push_back(g);
      gmedians.push_back(med);
    }
    table += "</table>\n";
    cont[t.features[f]] = {{"n", values.size()},
                           {"mean", std::isnan(mean) ? json(nullptr) : json(mean)},
                           {"p01", values.empty() ? json(nullptr) : json(lo)},
                           {"median", values.empty() ? json(nullptr) : json(Quantile(values, 0.5))},
                           {"p99", values.empty() ? json(nullptr) : json(hi)},
                           {"histogram", {{"edges", edges}, {"counts", counts}}},
                           {"by_company_type", groups}};
    body += "<h3>" + HtmlEscape(t.features[f]) + "</h3>\n" +
            SvgHistogram(t.features[f] + ": distribution (1st-99th percentile)", edges, counts) +
            SvgBars(t.features[f] + ": median by company type", glabels, gmedians) + table;
  }
  numbers["continuous"] = cont;

  store::PutOptions put = ctx.PutOptions();
  put.content_type = "application/json";
  RETURN_IF_ERROR(ctx.store->PutObjectFromString(bucket, base + ".json", numbers.dump(2) + "\n", put).status());
  put.content_type = "text/html; charset=utf-8";
  RETURN_IF_ERROR(
      ctx.store->PutObjectFromString(bucket, base + ".html", HtmlPage("Training table insights " + date, body), put)
          .status());
  ctx.log("profiled " + std::to_string(t.rows()) + " rows -> s3://" + bucket + "/" + base + ".html");
  return Status::OK();
}

}  // namespace bucketd::stages
