#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and UBSan) and
# fuzzes each for a bounded time: the Parquet reader, seeded with the real
# files of ../shared/testdata/parquet and a Delta checkpoint (read in place;
# new inputs go to a scratch corpus), then the Redis-protocol parser, seeded
# with commands as redis-cli and redis-py send them, then the MLflow request
# bodies (JSON and CSV) of POST /invocations. Exits non-zero on the
# first crash, leak or sanitizer report, leaving the reproducer in the
# scratch folder it prints.
# Usage: tests/fuzz/run_fuzz.sh [Parquet seconds, default 120] [RESP seconds, default 60]
#                               [MLflow seconds, default 60]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-120}
resp_seconds=${2:-60}
mlflow_seconds=${3:-60}
work=${FUZZ_DIR:-$(mktemp -d /tmp/predstore-fuzz.XXXXXX)}
seeds="$root/../shared/testdata/parquet"
checkpoints="$root/../shared/testdata/delta/simple_table_with_checkpoint/_delta_log"
# Builds tests/fuzz/<name>_fuzz.cc with the sources before "--" and the
# pkg-config packages after it.
build_target() {
  local name=$1 sources=() packages=()
  shift
  while [[ $# -gt 0 && $1 != -- ]]; do sources+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  packages=("$@")
  echo "run_fuzz: building the $name fuzz target in $work"
  # shellcheck disable=SC2046
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root" "$root/tests/fuzz/${name}_fuzz.cc" "${sources[@]}" $(pkg-config --cflags --libs "${packages[@]}") \
    -o "$work/${name}_fuzz"
}

# Fuzzes <name> for <seconds> over its scratch corpus and the seed folders
# given; any crash, leak or sanitizer report fails the script.
run_target() {
  local name=$1 seconds=$2
  shift 2
  mkdir -p "$work/${name}_corpus"
  echo "run_fuzz: fuzzing $name for ${seconds}s (seeds: $*)"
  # -rss_limit_mb: the Parquet reader's own caps (512 MiB pages) must hold well under it.
  (cd "$work" && "./${name}_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
    "${name}_corpus" "$@" 2>&1 | tail -n 12)
  echo "run_fuzz: no crash in ${seconds}s"
}

build_target parquet "$root"/core/parquet/*.cc "$root/core/base/mapped_file.cc" \
  -- absl_status absl_statusor absl_strings snappy zlib libzstd liblz4 libbrotlidec
run_target parquet "$seconds" "$seeds" "$checkpoints"

build_target resp "$root/server/resp_protocol.cc" -- absl_strings
mkdir -p "$work/resp_seeds"
printf '*2\r\n$3\r\nGET\r\n$15\r\nforecasts:1:2:3\r\n' > "$work/resp_seeds/get"
printf '*3\r\n$4\r\nMGET\r\n$5\r\nt:1:2\r\n$5\r\nt:3:4\r\n*1\r\n$4\r\nPING\r\n' > "$work/resp_seeds/pipeline"
printf 'HGETALL forecasts:1:2:3\r\nPING\n\r\n' > "$work/resp_seeds/inline"
printf '*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*-1\r\n$x\r\n' > "$work/resp_seeds/errors"
run_target resp "$resp_seconds" "$work/resp_seeds"

build_target mlflow "$root/core/serve/mlflow_protocol.cc" "$root/core/base/json_text.cc" \
  -- absl_status absl_statusor absl_strings absl_hash absl_raw_hash_set simdjson
mkdir -p "$work/mlflow_seeds"
printf '{"dataframe_split": {"columns": ["a","b"], "data": [[1, 2.5], [null, "x"]]}}' > "$work/mlflow_seeds/split"
printf '{"dataframe_records": [{"a": 1}, {"b": true}]}' > "$work/mlflow_seeds/records"
printf '{"inputs": {"a": [1,2], "b": [3,4]}, "params": {"output_margin": true}}' > "$work/mlflow_seeds/inputs"
printf '{"instances": [[1, 2], [3, 4]]}' > "$work/mlflow_seeds/instances"
printf 'a,b\n1,"2"\n,NaN\n' > "$work/mlflow_seeds/csv"
run_target mlflow "$mlflow_seconds" "$work/mlflow_seeds"
