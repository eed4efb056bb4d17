#include "stages/stages.h"

#include "stages/extract.h"

namespace bucketd::stages {

runner::BuiltinRegistry SeedBuiltins() {
  runner::BuiltinRegistry r = runner::DefaultBuiltins();
  r.Add("extract", ExtractStage);
  return r;
}

}  // namespace bucketd::stages
