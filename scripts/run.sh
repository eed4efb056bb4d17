#!/usr/bin/env bash
# README's first command: install what is needed, build, and run the main job
# on an embedded default. Today the main job is bucketd in the foreground on a
# local store (./demo-store, or $BUCKETD_ROOT) holding a demo bucket; Ctrl-C
# or SIGTERM stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/build.sh build -DBUCKETD_BUILD_TESTS=OFF -DBUCKETD_BUILD_BENCH=OFF
root=${BUCKETD_ROOT:-$PWD/demo-store}
ctl=(build/bin/bucketctl --root "$root")
"${ctl[@]}" ls s3://demo >/dev/null 2>&1 || "${ctl[@]}" mb s3://demo
printf 'hello from bucketd\n' > "$root/.welcome.txt"
"${ctl[@]}" mv "$root/.welcome.txt" s3://demo/welcome.txt >/dev/null
"${ctl[@]}" ls --recursive s3://demo
cat <<MSG
bucketd is serving $root in the foreground (Ctrl-C to stop). In another shell:
  build/bin/bucketctl --root $root cp README.md s3://demo/docs/
  build/bin/bucketctl --root $root ls --recursive s3://demo
MSG
exec build/bin/bucketd --root "$root"
