#!/usr/bin/env bash
# Configures and builds one build tree. Usage: build.sh DIR [cmake args…]
# With BUILD_TARGET set, builds only that target (and what it needs).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j2 ${BUILD_TARGET:+--target "$BUILD_TARGET"}
