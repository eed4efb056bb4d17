#include "stages/predict.h"

#include <nlohmann/json.hpp>

#include "stages/feature_table.h"
#include "stages/stage_input.h"
#include "stages/svg_chart.h"
#include "stages/xgb_model.h"

namespace bucketd::stages {
namespace {

using nlohmann::json;

Result<XgbBooster> LoadModel(runner::StageContext& ctx, const std::string& bucket, const std::string& key) {
  store::StringSink sink;
  RETURN_IF_ERROR(ctx.store->GetObject(bucket, key, sink).status());
  return XgbBooster::FromBytes(sink.data());
}

std::string Prob(float p) { return FormatNumber(p, "%.6f"); }

}  // namespace

Status PredictStage(runner::StageContext& ctx) {
  ASSIGN_OR_RETURN(MarkerRun run, StartFromMarker(ctx, "ALGORITHM/EVALUATION/", "evaluation_YYYYMMDD.json"));
  const json& in = run.input;
  const ObjectRef& marker = run.marker;
  const std::string& date = run.date;
  const std::string& bucket = marker.bucket;
  const std::string users_key = "DATA/LIST_USERS_PREDICTED/list_users_predicted_" + date + ".csv";
  if (AlreadyDone(ctx, bucket, users_key)) return Status::OK();
  ASSIGN_OR_RETURN(double threshold, NumberOption(in, "threshold", 0.75));
  store::StringSink eval_text;
  RETURN_IF_ERROR(ctx.store->GetObject(bucket, marker.key, eval_text).status());
  json evaluation = json::parse(eval_text.data(), nullptr, false);
  if (evaluation.is_discarded() || !evaluation.contains("features") || !evaluation.contains("models")) {
    return Status::InvalidArgument(marker.key + ": expected the train stage's evaluation (features, models)");
  }
  std::vector<std::string> features = evaluation["features"].get<std::vector<std::string>>();
  ASSIGN_OR_RETURN(std::string table_key, StringOption(in, "prediction_table", "DATA/TABLES/prediction_" + date + ".csv"));
  ASSIGN_OR_RETURN(FeatureTable t, ReadFeatureTable(*ctx.store, bucket, table_key, {}, &features));
  ASSIGN_OR_RETURN(XgbMatrix m, XgbMatrix::Create(t.matrix, t.rows(), t.features, {}));
  std::map<std::string, std::vector<float>> p;
  for (const char* name : {"precision", "recall"}) {
    std::string key = evaluation["models"][name].value("model_key", "");
    ASSIGN_OR_RETURN(XgbBooster booster, LoadModel(ctx, bucket, key));
    ASSIGN_OR_RETURN(p[name], booster.Predict(m));
  }

  std::string header;
  for (const auto& c : t.columns) header += (header.empty() ? "" : ",") + c;
  std::string full = header + ",PROBA_PRECISION,PROBA_RECALL\n";
  std::string above = full;
  std::string regs = "REGNUMBER,PROBA_RECALL\n";
  std::string users = "REGNUMBER\n";
  size_t positives = 0;
  for (size_t r = 0; r < t.rows(); ++r) {
    std::string line = t.lines[r] + "," + Prob(p["precision"][r]) + "," + Prob(p["recall"][r]) + "\n";
    full += line;
    if (p["recall"][r] >= threshold) {
      above += line;
      regs += t.regnumber[r] + "," + Prob(p["recall"][r]) + "\n";
      users += t.regnumber[r] + "\n";
      ++positives;
    }
  }
  const std::string dir = "ALGORITHM/" + date + "/DATA/PREDICT/LIST_POSITIVE_CLASS/";
  store::PutOptions put = ctx.PutOptions();
  put.content_type = "text/csv";
  RETURN_IF_ERROR(ctx.store->PutObjectFromString(bucket, dir + "full_prediction.csv", full, put).status());
  RETURN_IF_ERROR(ctx.store->PutObjectFromString(bucket, dir + "full_prediction_proba_75.csv", above, put).status());
  RETURN_IF_ERROR(ctx.store->PutObjectFromString(bucket, dir + "reg_prediction_proba_75.csv", regs, put).status());
  put.if_none_match = true;
  auto written = ctx.store->PutObjectFromString(bucket, users_key, users, put);
  if (!written.ok() && written.status().code() != StatusCode::kPreconditionFailed) return written.status();
  ctx.log("scored " + std::to_string(t.rows()) + " companies; " + std::to_string(positives) +
          " predicted users (recall model >= " + std::to_string(threshold) + ") -> s3://" + bucket + "/" + users_key);
  return Status::OK();
}

}  // namespace bucketd::stages
