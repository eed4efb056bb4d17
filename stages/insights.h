// The insights stage (the seed's 01_insights notebook): a profile of the
// training table, fired by LOGS_QUERY_EXECUTION/logs_tables_YYYYMMDD.json.
// Row count, missing values per column, counts of the categorical columns,
// and the distribution of every continuous column, overall (histogram
// between its 1st and 99th percentile) and by company type (quartiles) — as
// one self-contained HTML page of SVG charts and the same numbers in JSON:
// NOTEBOOKS_WORKFLOW/OUTPUT/insights_YYYYMMDD.html and .json.
#ifndef BUCKETD_STAGES_INSIGHTS_H_
#define BUCKETD_STAGES_INSIGHTS_H_

#include "common/status.h"
#include "runner/builtin.h"

namespace bucketd::stages {

Status InsightsStage(runner::StageContext& ctx);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_INSIGHTS_H_
