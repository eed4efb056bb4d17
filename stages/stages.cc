#include "stages/stages.h"

#include <nlohmann/json.hpp>

#include "stages/etl.h"
#include "stages/extract.h"
#include "stages/fetch.h"
#include "stages/insights.h"
#include "stages/predict.h"
#include "stages/stage_input.h"
#include "stages/train.h"

namespace bucketd::stages {
namespace {

// The seed's single RunNotebook Lambda: the target input's "input_path"
// names the notebook, and so the stage.
Status RunNotebook(runner::StageContext& ctx) {
  ASSIGN_OR_RETURN(nlohmann::json in, ParseStageInput(ctx.input));
  ASSIGN_OR_RETURN(std::string path, StringOption(in, "input_path", ""));
  struct Route {
    const char* notebook;
    runner::BuiltinStage stage;
  };
  static const Route kRoutes[] = {{"00_ETL", EtlStage},
                                  {"01_insights", InsightsStage},
                                  {"02_train", TrainStage},
                                  {"03_predict", PredictStage}};
  std::string file = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  for (const auto& r : kRoutes) {
    if (file.rfind(r.notebook, 0) == 0) return r.stage(ctx);
  }
  return Status::InvalidArgument("RunNotebook: input_path \"" + path +
                                 "\" names no known notebook; expected a file name starting with 00_ETL, "
                                 "01_insights, 02_train or 03_predict");
}

}  // namespace

runner::BuiltinRegistry SeedBuiltins() {
  runner::BuiltinRegistry r = runner::DefaultBuiltins();
  r.Add("fetch", FetchStage);
  r.Add("extract", ExtractStage);
  r.Add("etl", EtlStage);
  r.Add("insights", InsightsStage);
  r.Add("train", TrainStage);
  r.Add("predict", PredictStage);
  r.Add("RunNotebook", RunNotebook);
  return r;
}

}  // namespace bucketd::stages
