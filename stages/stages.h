// The built-in stages of the seed workflow, registered under their function
// handler names: "fetch", "extract", "etl", "insights", "train", "predict",
// "RunNotebook" (the seed's dispatcher on the input's "input_path"), "noop".
#ifndef BUCKETD_STAGES_STAGES_H_
#define BUCKETD_STAGES_STAGES_H_

#include "runner/builtin.h"

namespace bucketd::stages {

runner::BuiltinRegistry SeedBuiltins();

}  // namespace bucketd::stages

#endif  // BUCKETD_STAGES_STAGES_H_
