#!/usr/bin/env bash
# The seed pipeline end to end on generated data (README's first command runs
# this after building):
#   generate deliveries (bucketgen) -> serve them over SFTP from an sshd on
#   127.0.0.1 started here (or, when no sshd can run, land them straight into
#   the bucket from the local directory) -> bucketd in the foreground of this
#   script with the shipped configuration (etc/seed) -> fetch -> extract ->
#   etl -> insights + train -> predict -> the headline figures.
# Environment: DEMO_DIR (default ./demo, recreated), COMPANIES (20000),
# MONTHS (3), SEED (1), BIN (build/bin), TIMEOUT seconds (1800).
# Exit 0 when predictions came out; 1 with the reason otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
bin=$(cd "${BIN:-build/bin}" && pwd)
demo=${DEMO_DIR:-$PWD/demo}
companies=${COMPANIES:-20000}
months=${MONTHS:-3}
seed=${SEED:-1}
timeout=${TIMEOUT:-1800}

rm -rf "$demo"
mkdir -p "$demo"
demo=$(cd "$demo" && pwd)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
say() { printf '[demo %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

say "generating $companies companies, $months monthly deliveries (seed $seed) in $demo/gen"
"$bin/bucketgen" --out "$demo/gen" --companies "$companies" --months "$months" --seed "$seed" --format rar >/dev/null
last=$(ls "$demo/gen/out" | sort | tail -1)
date=${last#UKLTD_M_}

# The configuration bucketd runs with: the shipped seed workflow, without its
# monthly schedule (which points at the bureau's server).
mkdir -p "$demo/config"
cp -r "$src/etc/seed/functions.d" "$src/etc/seed/rules.d" "$src/etc/seed/sql" "$demo/config/"
rm "$demo/config/rules.d/fetch-monthly.json"
chmod -R go-w "$demo/config"

ctl=("$bin/bucketctl" --root "$demo/root" --state-dir "$demo/state")
"$bin/bucketd" --root "$demo/root" --config-dir "$demo/config" --state-dir "$demo/state" 2>"$demo/bucketd.log" &
pids+=($!)
for _ in $(seq 1 200); do
  grep -q "bucketd serving store" "$demo/bucketd.log" && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$demo/bucketd.log" >&2; say "bucketd did not start"; exit 1; }
  sleep 0.1
done
say "bucketd is running (log: $demo/bucketd.log)"
"${ctl[@]}" mb s3://creditsafedata >/dev/null

# Source: a loopback SFTP server, as the bureau's.
source_kind=local
sshd_dir="$demo/sshd"
mkdir -p "$sshd_dir"
why_local=""
if [ -x /usr/sbin/sshd ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 22022)
  ssh-keygen -q -t ed25519 -N "" -f "$sshd_dir/host_key"
  ssh-keygen -q -t ed25519 -N "" -f "$sshd_dir/client_key"
  cp "$sshd_dir/client_key.pub" "$sshd_dir/authorized_keys"
  user=$(id -un)
  cat > "$sshd_dir/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $sshd_dir/host_key
PidFile $sshd_dir/sshd.pid
AuthorizedKeysFile $sshd_dir/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
Subsystem sftp internal-sftp
ForceCommand internal-sftp
LogLevel ERROR
CFG
  [ "$(id -u)" -eq 0 ] && mkdir -p /run/sshd
  /usr/sbin/sshd -D -e -f "$sshd_dir/sshd_config" 2>"$sshd_dir/sshd.log" &
  pids+=($!)
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { source_kind=sftp; break; }
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  [ "$source_kind" = sftp ] || why_local="sshd would not start: $(tail -1 "$sshd_dir/sshd.log" 2>/dev/null)"
else
  why_local="no /usr/sbin/sshd on this machine (apt-get install openssh-server)"
fi

if [ "$source_kind" = sftp ]; then
  echo "[127.0.0.1]:$port $(cat "$sshd_dir/host_key.pub")" > "$sshd_dir/known_hosts"
  chmod 600 "$sshd_dir/known_hosts"
  cat > "$demo/fetch.json" <<JSON
{"host": "127.0.0.1", "port": $port, "user": "$user", "remote_dir": "$demo/gen/out",
 "known_hosts": "$sshd_dir/known_hosts", "bucket": "creditsafedata"}
JSON
  say "source: SFTP from sshd on 127.0.0.1:$port (its host key pinned in $sshd_dir/known_hosts)"
  "${ctl[@]}" fetch --input @"$demo/fetch.json" --stock --key-file "$sshd_dir/client_key"
else
  say "source: the local directory $demo/gen/out, because $why_local"
  "${ctl[@]}" cp --recursive "$demo/gen/out/" s3://creditsafedata/DATA/RAW_DATA/ >/dev/null
fi

# Follow the stages until the predictions of the newest delivery are out.
bucket="$demo/root/buckets/creditsafedata"
done_file="$bucket/DATA/LIST_USERS_PREDICTED/list_users_predicted_$date.csv"
report="$bucket/NOTEBOOKS_WORKFLOW/OUTPUT/insights_$date.html"
seen=0
start=$(date +%s)
while :; do
  lines=$(grep -c "" "$demo/bucketd.log" || true)
  if [ "$lines" -gt "$seen" ]; then
    tail -n +"$((seen + 1))" "$demo/bucketd.log" | head -n "$((lines - seen))" |
      grep -E "every table extracted|loaded [0-9]+ deliveries|exported|model: holdout|wrote ALGORITHM|profiled|scored|dead:" |
      sed -E 's/^\[[^]]*\] \[bucketd\] \[[a-z]+\] /  /; s/ \{RULE=.*$//' || true
    seen=$lines
  fi
  if [ -s "$done_file" ] && [ -s "$report" ]; then break; fi
  if grep -q "\] dead: " "$demo/bucketd.log"; then
    say "a stage failed for good:"; grep "\] dead: " "$demo/bucketd.log" | sed -E 's/ \{RULE=.*$//' >&2
    exit 1
  fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then say "bucketd exited"; tail -20 "$demo/bucketd.log" >&2; exit 1; fi
  if [ $(( $(date +%s) - start )) -gt "$timeout" ]; then say "no predictions after $timeout s"; exit 1; fi
  sleep 1
done
say "the chain finished in $(( $(date +%s) - start )) s after the archives landed; source: $source_kind"
"$bin/bucketeval" --bucket-dir "$bucket" --date "$date" --truth "$demo/gen/ground_truth.csv"
