// Lambda layers: zips published with `bucketctl lambda
// publish-layer-version`, each version unpacked once and never changed, in
// <state-dir>/lambda/layers/<Name>/<N>/ with its description beside it in
// <N>.json (written last: a version without it is not published yet). A
// function names them in Layers as Lambda does,
// "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N" (up to five, in order), and
// its environments find what they hold where Lambda's /opt would give it:
// python/ and python/lib/pythonX.Y/site-packages/ on PYTHONPATH,
// nodejs/node_modules/ on NODE_PATH, bin/ on PATH, lib/ on LD_LIBRARY_PATH;
// a later layer's files come first, as a later layer's overwrite an
// earlier one's in /opt.
#ifndef BUCKETD_RUNNER_LAYERS_H_
#define BUCKETD_RUNNER_LAYERS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/env.h"
#include "common/status.h"
#include "runner/function.h"

namespace bucketd::runner {

struct LayerVersion {
  std::string name;
  int version = 0;
  std::string description;
  std::vector<std::string> compatible_runtimes;
  std::string code_sha256;  // base64, as Lambda gives CodeSha256
  uint64_t code_size = 0;
  int64_t created_ns = 0;
  std::string directory;  // what the zip unpacked to
};

// Unpacks `zip` (named `source` in messages) as the next version of layer
// `name`: 1 for a new layer, then one more than the highest published.
Result<LayerVersion> PublishLayerVersion(Env& env, const std::string& state_dir, const std::string& name,
                                         std::string_view zip, const std::string& source,
                                         const std::string& description,
                                         const std::vector<std::string>& compatible_runtimes);

// The published versions of `name`, newest first (none: an empty list).
Result<std::vector<LayerVersion>> ListLayerVersions(Env& env, const std::string& state_dir, const std::string& name);

// "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N" → NAME and N.
Result<std::pair<std::string, int>> ParseLayerVersionArn(const std::string& arn);

// Sets fn->layer_directories from fn->layers; errors name the function's
// file and /Layers/<i>.
Status ResolveLayers(Env& env, const std::string& state_dir, Function* fn);

// PublishLayerVersion's and GetLayerVersion's answer, as `aws lambda` prints it.
nlohmann::json LayerVersionJson(const LayerVersion& v, const std::string& region, const std::string& account);

}  // namespace bucketd::runner

#endif  // BUCKETD_RUNNER_LAYERS_H_
