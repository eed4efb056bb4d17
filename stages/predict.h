// The predict stage (the seed's 03_predict notebook): fired by
// ALGORITHM/EVALUATION/evaluation_YYYYMMDD.json. Loads both models, scores
// the prediction table (DATA/TABLES/prediction_YYYYMMDD.csv) on the features
// the evaluation lists, and writes under
// ALGORITHM/YYYYMMDD/DATA/PREDICT/LIST_POSITIVE_CLASS/:
//   full_prediction.csv           every row, its columns, PROBA_PRECISION, PROBA_RECALL
//   full_prediction_proba_75.csv  the rows whose recall-model probability is >= 0.75
//   reg_prediction_proba_75.csv   REGNUMBER and that probability only
// and last DATA/LIST_USERS_PREDICTED/list_users_predicted_YYYYMMDD.csv (the
// predicted users' registration numbers). "threshold" in the input changes 0.75.
#ifndef BUCKETD_STAGES_PREDICT_H_
#define BUCKETD_STAGES_PREDICT_H_

#include "common/status.h"
#include "runner/builtin.h"

namespace bucketd::stages {

Status PredictStage(runner::StageContext& ctx);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_PREDICT_H_
