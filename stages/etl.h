// The etl stage (the seed's 00_ETL notebook, which ran Athena SQL): fired by
// a delivery marker LOGS_FTP_EXECUTION/LOG_UKLTD_M_YYYYMM01.json.
//
// 1. Loads every complete delivery up to that one (those with a marker) from
//    DATA/UNZIP_DATA_APPEND_ALL/ into a scratch SQLite database in the state
//    directory (delivery_loader.h: typed columns, latest delivery wins).
// 2. Loads the reference lists and runs the SQL files listed, in order, in
//    the parameters file (default <config-dir>/sql/parameters_ETL.json; the
//    input's "parameters" names another). The queries read the run's values
//    from the table params(name, value): as_of (YYYY-MM-DD), seed,
//    non_users_per_user.
// 3. Exports the tables named under "exports" as CSV through the store
//    (DATA/TABLES/<table>_YYYYMMDD.csv), then writes the marker
//    LOGS_QUERY_EXECUTION/logs_tables_YYYYMMDD.json (create-only): every
//    query with its file, line, rows and duration; the exported tables.
// YYYYMMDD is the newest delivery included. A marker that exists already
// means the work is done: the stage changes nothing. A delivery marker with a
// newer complete delivery beside it is skipped (the newer run includes it)
// unless the input says "rerun": true.
#ifndef BUCKETD_STAGES_ETL_H_
#define BUCKETD_STAGES_ETL_H_

#include "common/status.h"
#include "runner/builtin.h"

namespace bucketd::stages {

Status EtlStage(runner::StageContext& ctx);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_ETL_H_
