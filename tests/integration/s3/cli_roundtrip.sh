#!/bin/sh
# Round trip through bucketd's S3 endpoint with an aws CLI: mb, cp (multipart
# above 8 MiB), ls, cp back, cmp, sync, rm, presign; s3api for a conditional
# put, a range, a copy, tagging and ListObjectVersions.
# Usage: cli_roundtrip.sh AWS ENDPOINT BUCKET DATA_DIR WORK_DIR
set -eu
AWS=$1 EP=$2 B=$3 DATA=$4 WORK=$5
cli() { "$AWS" --endpoint-url "$EP" --region us-west-2 "$@"; }
cli s3 mb "s3://$B" >/dev/null
# One process each way (the CLI starts slowly); every file compared.
cli s3 cp --only-show-errors --recursive "$DATA" "s3://$B/in"
cli s3 cp --only-show-errors --recursive "s3://$B/in" "$WORK/back"
for f in "$DATA"/*; do
  cmp "$f" "$WORK/back/$(basename "$f")"
done
cli s3 ls "s3://$B/in/" | grep -c . >"$WORK/listed"
mkdir -p "$WORK/tree/sub" && echo one >"$WORK/tree/a.txt" && echo two >"$WORK/tree/sub/b.txt"
cli s3 sync --only-show-errors "$WORK/tree" "s3://$B/tree"
cli s3 sync --only-show-errors "s3://$B/tree" "$WORK/tree-back"
diff -r "$WORK/tree" "$WORK/tree-back"
# A conditional create that must fail the second time (botocore knows
# --if-none-match since 2024: Debian's awscli 2.9 does not).
if ! cli s3api put-object --bucket "$B" --key cond --body "$WORK/tree/a.txt" --if-none-match '*' >/dev/null 2>"$WORK/cond.err"; then
  grep -q "Unknown options: --if-none-match" "$WORK/cond.err"
  cli s3api put-object --bucket "$B" --key cond --body "$WORK/tree/a.txt" >/dev/null
else
  if cli s3api put-object --bucket "$B" --key cond --body "$WORK/tree/a.txt" --if-none-match '*' >/dev/null 2>"$WORK/cond.err"; then
    echo "second If-None-Match put succeeded" >&2; exit 1
  fi
  grep -q PreconditionFailed "$WORK/cond.err"
fi
cli s3api get-object --bucket "$B" --key cond --range bytes=1-2 "$WORK/range" >/dev/null
[ "$(cat "$WORK/range")" = "ne" ]
cli s3api copy-object --bucket "$B" --key cond-copy --copy-source "$B/cond" >/dev/null
cli s3api list-object-versions --bucket "$B" --prefix cond --query 'Versions[].VersionId' --output text >"$WORK/versions"
cli s3 rm --only-show-errors "s3://$B/cond-copy"
# Tags: set on an object, given at put, read back, removed.
cli s3api put-object-tagging --bucket "$B" --key cond --tagging 'TagSet=[{Key=team,Value=risk},{Key=stage,Value=raw}]'
cli s3api put-object --bucket "$B" --key tagged --body "$WORK/tree/a.txt" --tagging 'a=1&b=x%20y' >/dev/null
{ cli s3api get-object-tagging --bucket "$B" --key cond --query 'TagSet[].[Key,Value]' --output text
  cli s3api get-object-tagging --bucket "$B" --key tagged --query 'TagSet[].[Key,Value]' --output text; } >"$WORK/tags"
cli s3api delete-object-tagging --bucket "$B" --key cond
cli s3api get-object-tagging --bucket "$B" --key cond --query 'length(TagSet)' --output text >>"$WORK/tags"
url=$(cli s3 presign "s3://$B/cond" --expires-in 300)
curl -sf "$url" | cmp - "$WORK/tree/a.txt"
echo ok
