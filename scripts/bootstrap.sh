#!/usr/bin/env bash
# Installs the Debian 12 packages bucketd needs to build, test and run.
# Idempotent: installs only what is missing. As root it runs apt-get itself;
# otherwise it uses passwordless sudo if there is one, else prints the exact
# command to run and exits 1.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libssl-dev            # MD5 ETags
  nlohmann-json3-dev    # metadata records, JSON output
  libcli11-dev          # argument parsing
  libspdlog-dev         # logging
  libsystemd-dev        # sd_notify
  libinotifytools0-dev  # watching buckets
  libsqlite3-dev        # the trail and object index
  zlib1g-dev            # gzip of sealed trail files
  libsimdjson-dev       # events arriving as JSON text
  libgtest-dev          # unit tests
  libbenchmark-dev      # bench/
  inotify-tools         # bench/: inotifywait as the baseline
  watchman incron       # bench/peers_bench: the peers bucketd's latency is compared with
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer
  systemd util-linux    # tests/systemd: a real systemd in a PID namespace (unshare, nsenter)
  libarchive-dev        # extract stage, bucketgen's zip/7z/tar.gz
  libssh-dev            # fetch stage (SFTP)
  openssh-server openssh-client  # fetch tests: a real sshd on 127.0.0.1; bench: sftp baseline
  unar                  # tests: RAR files checked by a second reader
  libarchive-tools      # bench/: bsdtar as the extraction baseline
  libxgboost-dev        # train and predict stages
  chromium              # tests: the insights page rendered in a real browser
  python3-pandas python3-xgboost  # bench/: the same ETL and training in Python, the ratio to beat
  libboost-dev          # http/: Boost.Beast, the API endpoint's HTTP server
  libpugixml-dev        # api/: S3's XML
  awscli python3-boto3 s3cmd rclone  # tests: the S3 endpoint's real clients (Debian's versions)
  nodejs                # tests: the JavaScript SDK (@aws-sdk/client-s3, from npm; this nodejs brings npm)
  curl                  # tests: presigned URLs fetched as a browser would
  openssl               # tests: a self-signed certificate for the https endpoint
  python3-nbclient python3-ipykernel python3-nbconvert  # runner: the jupyter runtime (notebooks run as SageMaker processing jobs did)
  libcurl4-openssl-dev nginx-light  # bench/s3_bench: a SigV4 client (libcurl's own signer), nginx as the static-file peer
)

# npm packages the tests run (tests/integration/s3/package.json): installed
# once, from the npm registry, at the versions package-lock.json pins.
install_npm() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/s3"
  if [ ! -d "$dir/node_modules/@aws-sdk/client-s3" ]; then
    echo "bootstrap: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  install_npm
  exit 0
fi

cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
else
  echo "bootstrap: missing packages: ${missing[*]}" >&2
  echo "bootstrap: run as root: apt-get update && ${cmd[*]}" >&2
  exit 1
fi
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" "${cmd[@]}" >/dev/null
install_npm
