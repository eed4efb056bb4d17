#!/usr/bin/env bash
# README's second command: install what is needed, build with warnings as
# errors, run every test through CTest, then run the unit tests again built
# with AddressSanitizer + UndefinedBehaviorSanitizer, then fuzz the rule
# pattern parser and matcher briefly (30 s). The main tree is built -O2 as usual
# but without debug info (it only has to build fast and run); the sanitizer tree keeps -g.
# Both trees are unity builds (16 sources a compiler run): the headers (json,
# Beast, gtest) are parsed once a batch, which cuts the build time by a third on
# two cores; a name two sources both define in an anonymous namespace fails them.
unity=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/build.sh build-test "${unity[@]}" -DBUCKETD_WERROR=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG"
(cd build-test && ctest --output-on-failure -j2 --timeout 600)
BUILD_TARGET=unit_tests ./scripts/build.sh build-asan "${unity[@]}" -DBUCKETD_WERROR=ON -DBUCKETD_SANITIZE=ON -DBUCKETD_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug
# The sanitizer tree builds only the unit tests: it must still have them all.
count_unit() { (cd "$1" && ctest -N -L unit | awk '/Total Tests:/ {print $3}'); }
if [ "$(count_unit build-test)" != "$(count_unit build-asan)" ]; then
  echo "test.sh: build-asan has $(count_unit build-asan) unit tests, build-test $(count_unit build-test)" >&2
  exit 1
fi
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j2 -L unit --timeout 600)
./scripts/fuzz.sh 30
