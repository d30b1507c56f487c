#!/usr/bin/env bash
# The Parquet case of the load benchmark: the same sample rows written as
# CSV and as Parquet (SNAPPY, 1M-row groups, by predstore's own writer,
# `predstore-load sample --out=*.parquet`; the reader it feeds is checked
# against parquet-testing's real files), each loaded $REPS times,
# alternating, into a fresh table. Prints each run's wall-clock time and
# the medians, rows/s and the Parquet/CSV ratio of rows/s, per row count.
# Usage: bench/run_parquet_load.sh [--short]   (--short: 100k rows, 3 reps)
#   BUILD_DIR (default build), ROWS_LIST (default "1000000 10000000"),
#   REPS (default 5), WORK (default a temporary folder, removed at the end)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
rows_list=${ROWS_LIST:-"1000000 10000000"}
reps=${REPS:-5}
if [[ "${1:-}" == "--short" ]]; then rows_list="100000"; reps=3; fi
cmake --build "$build" --target predstore-load >/dev/null
load_bin="$build/loader/predstore-load"
work=${WORK:-$(mktemp -d /tmp/predstore-parquet-bench.XXXXXX)}
mkdir -p "$work"
[[ -n "${WORK:-}" ]] || trap 'rm -rf "$work"' EXIT
keys=(--keys=store_id:int64,item_id:int64,horizon_days:int64 --values=forecast:double,p90:double)

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Seconds of one load of $1 into a fresh table (wall clock of the process).
load_seconds() {
  local file=$1 data="$work/data-$RANDOM"
  local start end
  start=$(date +%s.%N)
  "$load_bin" load --data_dir="$data" --table=t "${keys[@]}" "$file" >/dev/null
  end=$(date +%s.%N)
  rm -rf "$data"
  echo "$end - $start" | bc -l
}

printf '%-10s %-8s %12s %12s %10s\n' rows format "median s" "rows/s" "file MB"
for rows in $rows_list; do
  "$load_bin" sample --rows="$rows" --out="$work/s$rows.csv" >/dev/null
  "$load_bin" sample --rows="$rows" --out="$work/s$rows.parquet" >/dev/null
  csv_times=() parquet_times=()
  for ((i = 0; i < reps; ++i)); do
    csv_times+=("$(load_seconds "$work/s$rows.csv")")
    parquet_times+=("$(load_seconds "$work/s$rows.parquet")")
  done
  csv=$(printf '%s\n' "${csv_times[@]}" | median)
  parquet=$(printf '%s\n' "${parquet_times[@]}" | median)
  for format in csv parquet; do
    seconds=$([[ $format == csv ]] && echo "$csv" || echo "$parquet")
    size=$(stat -c %s "$work/s$rows.$format")
    printf '%-10s %-8s %12.3f %12.0f %10.1f\n' "$rows" "$format" "$seconds" "$(echo "$rows / $seconds" | bc -l)" \
      "$(echo "$size / 1000000" | bc -l)"
  done
  echo "  runs csv: ${csv_times[*]}"
  echo "  runs parquet: ${parquet_times[*]}"
  printf '  parquet/csv rows/s: %.2f\n' "$(echo "$csv / $parquet" | bc -l)"
done
