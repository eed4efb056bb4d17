// The train stage (the seed's 02_train notebook): fired by
// LOGS_QUERY_EXECUTION/logs_tables_YYYYMMDD.json. Reads the training table,
// splits it 90/10 by company (all sheets of a company on one side),
// stratified on whether the company has a positive row, seeded; trains the
// precision-oriented model (scale_pos_weight 1) and the recall-oriented one
// (scale_pos_weight = negatives/positives of the training rows,
// max_delta_step 1) with DATA.md's settings, overridable by the input's
// "params" (XGBoost names), "rounds", "seed", "holdout_fraction".
//
// Writes ALGORITHM/YYYYMMDD/XGBOOST/MODELS/model_{precision,recall}_1.json
// (XGBoost JSON), the holdout's scores (holdout_YYYYMMDD.csv) and an HTML page
// with ROC and PR curves beside them, and last — it fires prediction — the
// create-only ALGORITHM/EVALUATION/evaluation_YYYYMMDD.json.
#ifndef BUCKETD_STAGES_TRAIN_H_
#define BUCKETD_STAGES_TRAIN_H_

#include "common/status.h"
#include "runner/builtin.h"

namespace bucketd::stages {

Status TrainStage(runner::StageContext& ctx);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_TRAIN_H_
