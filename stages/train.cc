#include "stages/train.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "stages/feature_table.h"
#include "stages/metrics.h"
#include "stages/seed_sql.h"
#include "stages/stage_input.h"
#include "stages/svg_chart.h"
#include "stages/xgb_model.h"

namespace bucketd::stages {
namespace {

using nlohmann::json;

// Columns that are not features: ids, the label and its source, text.
const std::set<std::string> kNotFeatures = {"REGNUMBER", "ACCOUNTSDATE", "LABEL", "USERDATE", "COMPANY_TYPE_GROUP",
                                            "SECTION"};

struct HoldoutSplit {
  std::vector<size_t> train, holdout;  // row indexes
  size_t train_companies = 0, holdout_companies = 0;
};

// By company, stratified on "has a positive row", seeded and portable: in
// each stratum companies are ordered by FNV-1a of "<seed>:split:<REGNUMBER>"
// and the first round(fraction * n) go to the holdout.
HoldoutSplit SplitByCompany(const FeatureTable& t, int64_t seed, double fraction) {
  std::map<std::string, std::vector<size_t>> rows;
  std::map<std::string, bool> positive;
  for (size_t r = 0; r < t.regnumber.size(); ++r) {
    rows[t.regnumber[r]].push_back(r);
    positive[t.regnumber[r]] = positive[t.regnumber[r]] || t.label[r] > 0.5f;
  }
  std::vector<std::pair<uint64_t, std::string>> strata[2];
  for (const auto& [reg, _] : rows) {
    strata[positive[reg]].emplace_back(Fnv1a64(std::to_string(seed) + ":split:" + reg), reg);
  }
  HoldoutSplit s;
  for (auto& stratum : strata) {
    std::sort(stratum.begin(), stratum.end());
    size_t n_holdout = static_cast<size_t>(std::llround(fraction * static_cast<double>(stratum.size())));
    for (size_t i = 0; i < stratum.size(); ++i) {
      auto& dst = i < n_holdout ? s.holdout : s.train;
      (i < n_holdout ? s.holdout_companies : s.train_companies)++;
      for (size_t r : rows[stratum[i].second]) dst.push_back(r);
    }
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.holdout.begin(), s.holdout.end());
  return s;
}

void Take(const FeatureTable& t, const std::vector<size_t>& rows, std::vector<float>* data, std::vector<float>* labels) {
  size_t nf = t.features.size();
  data->resize(rows.size() * nf);
  labels->resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(t.matrix.begin() + static_cast<long>(rows[i] * nf), nf, data->begin() + static_cast<long>(i * nf));
    (*labels)[i] = t.label[rows[i]];
  }
}

json Threshold(const std::vector<float>& p, const std::vector<float>& y, double at) {
  Confusion c = ConfusionAt(p, y, at);
  return {{"precision", c.precision()}, {"recall", c.recall()}, {"f1", c.f1()},
          {"tp", c.tp},                 {"fp", c.fp},           {"tn", c.tn},     {"fn", c.fn}};
}

std::string ParamText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

Status TrainStage(runner::StageContext& ctx) {
  auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(MarkerRun run, StartFromMarker(ctx, "LOGS_QUERY_EXECUTION/", "logs_tables_YYYYMMDD.json"));
  const json& in = run.input;
  const std::string& date = run.date;
  const std::string& bucket = run.marker.bucket;
  const std::string evaluation_key = "ALGORITHM/EVALUATION/evaluation_" + date + ".json";
  if (AlreadyDone(ctx, bucket, evaluation_key)) return Status::OK();
  ASSIGN_OR_RETURN(int64_t seed, IntOption(in, "seed", 42));
  ASSIGN_OR_RETURN(int64_t rounds, IntOption(in, "rounds", 300));
  ASSIGN_OR_RETURN(double fraction, NumberOption(in, "holdout_fraction", 0.1));
  ASSIGN_OR_RETURN(std::string table_key, StringOption(in, "training_table", "DATA/TABLES/training_" + date + ".csv"));
  ASSIGN_OR_RETURN(FeatureTable t, ReadFeatureTable(*ctx.store, bucket, table_key, kNotFeatures));
  if (t.label.empty()) return Status::InvalidArgument(table_key + ": has no LABEL column");
  // The rows' text is not needed here; at a million companies it is a GiB.
  std::vector<std::string>().swap(t.lines);
  HoldoutSplit split = SplitByCompany(t, seed, fraction);
  std::vector<float> xtr, ytr, xho, yho;
  Take(t, split.train, &xtr, &ytr);
  Take(t, split.holdout, &xho, &yho);
  std::vector<float>().swap(t.matrix);
  double pos = 0;
  for (float y : ytr) pos += y;
  double neg = static_cast<double>(ytr.size()) - pos;
  if (pos == 0 || neg == 0) return Status::InvalidArgument(table_key + ": the training rows hold only one class");
  ctx.log("training on " + std::to_string(split.train.size()) + " rows (" + std::to_string(static_cast<int64_t>(pos)) +
          " positive) of " + std::to_string(split.train_companies) + " companies; holdout " +
          std::to_string(split.holdout.size()) + " rows of " + std::to_string(split.holdout_companies));
  ASSIGN_OR_RETURN(XgbMatrix dtrain, XgbMatrix::Create(xtr, split.train.size(), t.features, ytr));
  ASSIGN_OR_RETURN(XgbMatrix dholdout, XgbMatrix::Create(xho, split.holdout.size(), t.features, yho));

  std::map<std::string, std::string> base = {
      {"objective", "binary:logistic"}, {"tree_method", "hist"},      {"max_depth", "4"},
      {"eta", "0.05"},                  {"subsample", "0.8"},         {"colsample_bytree", "0.8"},
      {"min_child_weight", "5"},        {"nthread", "2"},             {"seed", std::to_string(seed)},
      {"verbosity", "0"}};
  if (in.contains("params") && in["params"].is_object()) {
    for (auto& [k, v] : in["params"].items()) base[k] = ParamText(v);
  }
  char spw[32];
  std::snprintf(spw, sizeof spw, "%.6f", neg / pos);
  struct Spec {
    std::string name;
    std::map<std::string, std::string> params;
  };
  std::vector<Spec> specs = {{"precision", base}, {"recall", base}};
  specs[0].params.emplace("scale_pos_weight", "1");
  specs[1].params.emplace("scale_pos_weight", spw);
  specs[1].params.emplace("max_delta_step", "1");

  const std::string dir = "ALGORITHM/" + date + "/XGBOOST/";
  json models = json::object();
  std::vector<Series> roc, pr;
  std::map<std::string, std::vector<float>> holdout_scores;
  for (const auto& spec : specs) {
    auto t0 = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(XgbBooster booster, XgbBooster::Train(dtrain, spec.params, static_cast<int>(rounds)));
    int64_t train_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    ASSIGN_OR_RETURN(std::vector<float> p, booster.Predict(dholdout));
    ASSIGN_OR_RETURN(std::string model_json, booster.ToJson());
    std::string model_key = dir + "MODELS/model_" + spec.name + "_1.json";
    store::PutOptions put = ctx.PutOptions();
    put.content_type = "application/json";
    RETURN_IF_ERROR(ctx.store->PutObjectFromString(bucket, model_key, model_json, put).status());
    ASSIGN_OR_RETURN(auto importance, booster.Importance());
    json params_json(spec.params);
    models[spec.name] = {{"auc", RocAuc(p, yho)},
                         {"pr_auc", AveragePrecision(p, yho)},
                         {"threshold_0.5", Threshold(p, yho, 0.5)},
                         {"threshold_0.75", Threshold(p, yho, 0.75)},
                         {"feature_importance", importance},
                         {"params", params_json},
                         {"rounds", rounds},
                         {"train_ms", train_ms},
                         {"model_key", model_key}};
    roc.push_back({spec.name + " model", RocCurve(p, yho)});
    pr.push_back({spec.name + " model", PrCurve(p, yho)});
    ctx.log(spec.name + " model: holdout AUC " + std::to_string(models[spec.name]["auc"].get<double>()) +
            ", PR-AUC " + std::to_string(models[spec.name]["pr_auc"].get<double>()) + " (" +
            std::to_string(train_ms) + " ms)");
    holdout_scores[spec.name] = std::move(p);
  }

  // The holdout's scores: lets anyone compare with other models on the same rows.
  std::string scores = "REGNUMBER,ACCOUNTSDATE,LABEL,PROBA_PRECISION,PROBA_RECALL\n";
  for (size_t i = 0; i < split.holdout.size(); ++i) {
    size_t r = split.holdout[i];
    char buf[64];
    std::snprintf(buf, sizeof buf, ",%d,%.6f,%.6f\n", static_cast<int>(yho[i]), holdout_scores["precision"][i],
                  holdout_scores["recall"][i]);
    scores += t.regnumber[r] + "," + t.accounts_date[r] + buf;
  }
  store::PutOptions put = ctx.PutOptions();
  put.content_type = "text/csv";
  const std::string holdout_key = dir + "holdout_" + date + ".csv";
  RETURN_IF_ERROR(ctx.store->PutObjectFromString(bucket, holdout_key, scores, put).status());

  std::string body = "<p>Holdout: " + std::to_string(split.holdout.size()) + " balance sheets of " +
                     std::to_string(split.holdout_companies) + " companies.</p><table><tr><th>model</th><th>AUC</th>"
                     "<th>PR-AUC</th><th>precision@0.5</th><th>recall@0.5</th><th>precision@0.75</th><th>recall@0.75</th></tr>";
  for (const auto& spec : specs) {
    const json& m = models[spec.name];
    char row[256];
    std::snprintf(row, sizeof row, "<tr><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td></tr>",
                  spec.name.c_str(), m["auc"].get<double>(), m["pr_auc"].get<double>(),
                  m["threshold_0.5"]["precision"].get<double>(), m["threshold_0.5"]["recall"].get<double>(),
                  m["threshold_0.75"]["precision"].get<double>(), m["threshold_0.75"]["recall"].get<double>());
    body += row;
  }
  body += "</table>\n" + SvgUnitLines("ROC curve (holdout)", "false positive rate", "true positive rate", roc) +
          SvgUnitLines("Precision-recall curve (holdout)", "recall", "precision", pr);
  put.content_type = "text/html; charset=utf-8";
  const std::string report_key = dir + "evaluation_" + date + ".html";
  RETURN_IF_ERROR(
      ctx.store->PutObjectFromString(bucket, report_key, HtmlPage("Model evaluation " + date, body), put).status());

  json evaluation = {{"date", date},
                     {"rows", {{"train", split.train.size()}, {"holdout", split.holdout.size()}}},
                     {"companies", {{"train", split.train_companies}, {"holdout", split.holdout_companies}}},
                     {"positives", {{"train", static_cast<int64_t>(pos)}}},
                     {"features", t.features},
                     {"models", models},
                     {"training_table", table_key},
                     {"holdout_key", holdout_key},
                     {"report_key", report_key},
                     {"seed", seed},
                     {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - started).count()}};
  ASSIGN_OR_RETURN(bool wrote, PutMarker(ctx, bucket, evaluation_key, evaluation.dump(2) + "\n"));
  ctx.log(wrote ? "wrote " + evaluation_key : evaluation_key + " was already written");
  return Status::OK();
}

}  // namespace bucketd::stages
