#include "stages/stages.h"

#include "stages/extract.h"
#include "stages/fetch.h"

namespace bucketd::stages {

runner::BuiltinRegistry SeedBuiltins() {
  runner::BuiltinRegistry r = runner::DefaultBuiltins();
  r.Add("extract", ExtractStage);
  r.Add("fetch", FetchStage);
  return r;
}

}  // namespace bucketd::stages
