// The built-in stages of the seed workflow, registered under their function
// handler names: "extract", "fetch" (and "noop").
#ifndef BUCKETD_STAGES_STAGES_H_
#define BUCKETD_STAGES_STAGES_H_

#include "runner/builtin.h"

namespace bucketd::stages {

runner::BuiltinRegistry SeedBuiltins();

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_STAGES_H_
