#!/bin/bash
# units/bucketd.service as installed: `systemd-analyze verify` prints nothing
# and `systemd-analyze security --offline=yes` rates it 2.0 or less (the score
# is printed). The install goes to a staging directory that a private mount
# namespace lays over /usr, so the unit is checked against the real system
# without installing anything on it.
#   units_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
stage="$build/units-test-stage"
rm -rf "$stage"
DESTDIR="$stage" cmake --install "$build" --prefix /usr >/dev/null
unit=/usr/lib/systemd/system/bucketd.service
out=$(unshare -m bash -c "
  mount --make-rprivate /
  mount -t overlay overlay -o lowerdir=$stage/usr:/usr /usr
  echo '--- verify'
  systemd-analyze verify $unit 2>&1
  echo '--- security'
  systemd-analyze security --offline=yes $unit 2>&1 | tail -1
")
rm -rf "$stage"
verify=$(sed -n '/^--- verify$/,/^--- security$/p' <<<"$out" | sed '1d;$d')
score_line=$(sed -n '/^--- security$/,$p' <<<"$out" | sed '1d')
echo "$score_line"
if [ -n "$verify" ]; then
  echo "FAIL: systemd-analyze verify printed:" >&2
  echo "$verify" >&2
  exit 1
fi
score=$(grep -oE 'exposure level for bucketd.service: [0-9.]+' <<<"$score_line" | grep -oE '[0-9.]+$')
if [ -z "$score" ]; then
  echo "FAIL: no exposure level in: $score_line" >&2
  exit 1
fi
if ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
  echo "FAIL: exposure $score is above 2.0" >&2
  exit 1
fi
echo "OK: verify printed nothing; exposure $score"
