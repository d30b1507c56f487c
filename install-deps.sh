#!/usr/bin/env bash
# Installs the Debian 12 packages predstore needs to build, test and benchmark.
# Idempotent: packages already present are left alone. Used by the README's
# quick start, by .ci/run and by the Dockerfile's build stage.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libsimdjson-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  gnuplot-nox time redis-server redis-tools libhiredis-dev linux-perf
  libxgboost-dev libsqlite3-dev libyaml-cpp-dev sqlite3 librdkafka-dev libcli11-dev
  libsnappy-dev zlib1g-dev libzstd-dev liblz4-dev libbrotli-dev clang libclang-rt-14-dev bc openssl
  libboost-dev wrk
  python3-xgboost python3-sklearn python3-yaml python3-prometheus-client python3-redis
)
# kubectl validates deploy/kubernetes offline (kubectl kustomize). A kubectl
# from elsewhere (Google's or Kubernetes' own package) serves as well, and
# Debian's would conflict with its file.
if ! command -v kubectl >/dev/null 2>&1; then packages+=(kubernetes-client); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
