// SQL functions the seed workflow's queries use, registered on the ETL's
// SQLite connection, and the same rules in C++ for the other stages and tests.
//   normalise_lender(name)  DATA.md's normalisation of a person entitled
//   fnv_fraction(text)      FNV-1a-64(text) / 2^64, in [0, 1): the portable
//                           seeded sample of non-user companies
#ifndef BUCKETD_STAGES_SEED_SQL_H_
#define BUCKETD_STAGES_SEED_SQL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

struct sqlite3;

namespace bucketd::stages {

// Upper case; "&" -> "AND"; dots dropped; other punctuation -> space; runs
// of spaces -> one; a leading "THE " dropped; the word "LTD" -> "LIMITED".
std::string NormaliseLender(std::string_view name);
uint64_t Fnv1a64(std::string_view text);
double FnvFraction(std::string_view text);

Status RegisterSeedSqlFunctions(sqlite3* db);

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_SEED_SQL_H_
