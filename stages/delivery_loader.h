// Loads unpacked delivery files (DATA.md's text format) from the store into
// typed SQLite tables, the latest delivery winning by key: CI01 by
// REGNUMBER, AC01 and AC06 by (REGNUMBER, ACCOUNTSDATE), MR01 by CHARGEID,
// lookups by CODE; a charge's MR02 rows in a later delivery replace all its
// earlier ones. Money and EMPLOYEES are INTEGER, everything else TEXT
// (REGNUMBER and SICCODE keep their leading zeros).
#ifndef BUCKETD_STAGES_DELIVERY_LOADER_H_
#define BUCKETD_STAGES_DELIVERY_LOADER_H_

#include <cstdint>
#include <string>

#include "common/sqlite_db.h"
#include "common/status.h"
#include "stages/delivery.h"
#include "store/store.h"

namespace bucketd::stages {

// CREATE TABLE for every delivery table.
Status CreateDeliveryTables(SqliteDb& db);

// Loads one file; files must be loaded in delivery order (`delivery` grows).
// Errors name the key, the line and the column, and what was expected.
Result<uint64_t> LoadDeliveryFile(SqliteDb& db, store::Store& store, const std::string& bucket,
                                  const std::string& key, const TableSpec& table, int delivery);

// Loads a CSV reference list (header row, comma-separated, no quoting) into
// a TEXT table of that name.
Result<uint64_t> LoadReferenceCsv(SqliteDb& db, const std::string& table, const std::string& path);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_DELIVERY_LOADER_H_
