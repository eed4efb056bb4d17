#!/bin/sh
# Round trip through bucketd's S3 endpoint with s3cmd or rclone (Debian's):
# put (multipart above their part sizes), get, cmp, ls, del.
# Usage: tools_roundtrip.sh s3cmd|rclone HOST:PORT KEY_ID SECRET BUCKET DATA_DIR WORK_DIR
set -eu
TOOL=$1 HOSTPORT=$2 AK=$3 SK=$4 B=$5 DATA=$6 WORK=$7
# rclone refuses a custom CA bundle for plain http; the machine sets one.
unset AWS_CA_BUNDLE
if [ "$TOOL" = s3cmd ]; then
  cat >"$WORK/s3cfg" <<CFG
[default]
access_key = $AK
secret_key = $SK
host_base = $HOSTPORT
host_bucket = $HOSTPORT
use_https = False
signature_v2 = False
CFG
  chmod 600 "$WORK/s3cfg"
  s3() { s3cmd -c "$WORK/s3cfg" --no-progress "$@"; }
  s3 mb "s3://$B" >/dev/null
  for f in "$DATA"/*; do
    n=$(basename "$f")
    s3 put "$f" "s3://$B/in/$n" >/dev/null
    s3 get --force "s3://$B/in/$n" "$WORK/$n.back" >/dev/null
    cmp "$f" "$WORK/$n.back"
  done
  s3 ls "s3://$B/in/" >"$WORK/listed"
  first=$(ls "$DATA" | sort | head -1)
  s3 del "s3://$B/in/$first" >/dev/null
else
  cat >"$WORK/rclone.conf" <<CFG
[b]
type = s3
provider = Other
access_key_id = $AK
secret_access_key = $SK
endpoint = http://$HOSTPORT
region = us-east-1
CFG
  chmod 600 "$WORK/rclone.conf"
  rc() { rclone --config "$WORK/rclone.conf" --low-level-retries 1 --retries 1 "$@"; }
  rc mkdir "b:$B"
  for f in "$DATA"/*; do
    n=$(basename "$f")
    rc copyto "$f" "b:$B/in/$n"
    rc copyto "b:$B/in/$n" "$WORK/$n.back"
    cmp "$f" "$WORK/$n.back"
  done
  rc check "$DATA" "b:$B/in" 2>"$WORK/check.log"
  first=$(ls "$DATA" | sort | head -1)
  rc deletefile "b:$B/in/$first"
fi
echo ok
