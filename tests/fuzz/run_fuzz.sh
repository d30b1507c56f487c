#!/usr/bin/env bash
# Builds the Parquet reader's libFuzzer target with clang (AddressSanitizer
# and UBSan) and fuzzes it for a bounded time, seeded with the real files of
# ../shared/testdata/parquet and a Delta checkpoint (read in place; new
# inputs go to a scratch corpus). Exits non-zero on the first crash, leak
# or sanitizer report, leaving the reproducer in the scratch folder it
# prints.
# Usage: tests/fuzz/run_fuzz.sh [seconds, default 120]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-120}
work=${FUZZ_DIR:-$(mktemp -d /tmp/predstore-fuzz.XXXXXX)}
seeds="$root/../shared/testdata/parquet"
checkpoints="$root/../shared/testdata/delta/simple_table_with_checkpoint/_delta_log"
mkdir -p "$work/corpus"

echo "run_fuzz: building the parquet fuzz target in $work"
# shellcheck disable=SC2046
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root" "$root/tests/fuzz/parquet_fuzz.cc" "$root"/core/parquet/*.cc "$root/core/base/mapped_file.cc" \
  $(pkg-config --cflags --libs absl_status absl_statusor absl_strings snappy zlib libzstd liblz4 libbrotlidec) \
  -o "$work/parquet_fuzz"

echo "run_fuzz: fuzzing for ${seconds}s (seeds: $seeds)"
cd "$work"
# -rss_limit_mb: the reader's own caps (512 MiB pages) must hold well under it.
./parquet_fuzz -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
  corpus "$seeds" "$checkpoints" 2>&1 | tail -n 20
echo "run_fuzz: no crash in ${seconds}s"
