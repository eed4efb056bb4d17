#!/usr/bin/env bash
# README's first command: install what is needed, build, and run the main job
# on an embedded default: the seed pipeline end to end on generated data
# (scripts/demo.sh: deliveries served over SFTP from a loopback sshd, bucketd
# with the shipped rules, fetch -> extract -> etl -> insights + train ->
# predict), ending with where the outputs are and the headline figures.
# COMPANIES, MONTHS, SEED, DEMO_DIR are passed on to scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/build.sh build -DBUCKETD_BUILD_TESTS=OFF -DBUCKETD_BUILD_BENCH=OFF
exec ./scripts/demo.sh
