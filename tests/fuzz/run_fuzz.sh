#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (AddressSanitizer
# and UBSan) and fuzzes each for a bounded time from the committed seeds of
# tests/fuzz/seeds/<target>/; the Parquet target starts from the real files
# of ../shared/testdata/parquet and a Delta checkpoint instead, and the Delta
# target from real logs of ../shared/testdata/delta too, read in place, and
# with the dictionary tests/fuzz/<target>.dict where there is one. New inputs
# go to a scratch corpus per target. The targets, and their seconds:
#   parquet  180  the Parquet reader, flat (data files) and nested (Delta checkpoints)
#   resp      60  the Redis-protocol parser
#   mlflow    60  the MLflow request bodies (JSON and CSV) of POST /invocations
#   records   30  the CSV and JSON Lines readers and the row encoder
#   keys      30  key decoding, which Scan page tokens go through
#   curves    30  the Z-order and Hilbert range jumps of range scans
#   registry  30  MLmodel files, the file store's meta.yaml files, models:/ URIs
#   registry_sqlite  30  the SQLite registry's rows (models, versions, aliases, runs)
#   http      30  the HTTP server's request reading
#   delta     30  Delta JSON commits
#   wire      30  the gRPC Lookup, BatchLookup and Scan requests' validation
# Sources are compiled once into objects the targets share. Compiling and
# fuzzing run FUZZ_JOBS at a time (default: one per core; libFuzzer uses one
# core), so on two cores the stage takes about half its fuzzing seconds plus
# half the build. Exits non-zero when any target crashed, broke one of the
# invariants its file lists, leaked, timed out or hit a sanitizer report,
# once the others have finished, leaving the reproducer in the scratch
# folder it prints.
# Usage: tests/fuzz/run_fuzz.sh [TARGET=SECONDS ...]
#   No arguments: every target, for the seconds above (what CI runs).
#   With arguments: only the targets named, for the seconds given.
# Environment: FUZZ_JOBS; FUZZ_DIR, the scratch folder (default: a new one
# under /tmp; objects found there are reused when newer than their source).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${FUZZ_DIR:-$(mktemp -d /tmp/predstore-fuzz.XXXXXX)}
parallel=${FUZZ_JOBS:-$(nproc)}
[[ $parallel =~ ^[1-9][0-9]*$ ]] || { echo "run_fuzz: FUZZ_JOBS must be a positive number" >&2; exit 2; }
seeds="$root/tests/fuzz/seeds"
testdata="$root/../shared/testdata"
gen="$work/gen"

names=()
declare -A seconds sources packages corpora
# target NAME SECONDS SOURCE... -- PKG-CONFIG PACKAGE... -- SEED FOLDER...
# The target's own tests/fuzz/NAME_fuzz.cc comes first among its sources.
target() {
  local name=$1 list=()
  names+=("$name")
  seconds[$name]=$2
  shift 2
  list=("$root/tests/fuzz/${name}_fuzz.cc")
  while [[ $1 != -- ]]; do list+=("$1"); shift; done
  shift
  sources[$name]=$(printf '%s\n' "${list[@]}")
  list=()
  while [[ $1 != -- ]]; do list+=("$1"); shift; done
  shift
  packages[$name]="${list[*]}"
  corpora[$name]=$(printf '%s\n' "$@")
}

absl=(absl_status absl_statusor absl_strings absl_str_format absl_time absl_hash absl_raw_hash_set)
codecs=(snappy zlib libzstd liblz4 libbrotlidec)
table=("$root"/core/table/{schema,key_codec,key_mapping,value_codec,hilbert_curve,z_order_range,shard_hash}.cc)
parquet=("$root"/core/parquet/*.cc "$root/core/base/mapped_file.cc")

target parquet 180 "${parquet[@]}" -- "${absl[@]}" "${codecs[@]}" -- "$testdata/parquet" \
  "$testdata/delta/simple_table_with_checkpoint/_delta_log"
target resp 60 "$root/server/resp_protocol.cc" -- "${absl[@]}" -- "$seeds/resp"
target mlflow 60 "$root/core/serve/mlflow_protocol.cc" "$root/core/base/json_text.cc" -- "${absl[@]}" simdjson \
  -- "$seeds/mlflow"
target records 30 "$root"/core/ingest/{record_reader,parquet_reader,row_encoder}.cc "${table[@]}" "${parquet[@]}" \
  -- "${absl[@]}" "${codecs[@]}" simdjson -- "$seeds/records"
target keys 30 "${table[@]}" -- "${absl[@]}" -- "$seeds/keys"
target curves 30 "$root"/core/table/{hilbert_curve,z_order_range}.cc -- "${absl[@]}" -- "$seeds/curves"
target registry 30 "$root"/core/model/{ml_model,model_registry}.cc "$root/core/base/file_io.cc" \
  -- "${absl[@]}" yaml-cpp sqlite3 -- "$seeds/registry"
target registry_sqlite 30 "$root"/core/model/{ml_model,model_registry}.cc "$root/core/base/file_io.cc" \
  -- "${absl[@]}" yaml-cpp sqlite3 -- "$seeds/registry_sqlite"
target http 30 "$root/core/base/json_text.cc" -- "${absl[@]}" simdjson -- "$seeds/http"
target delta 30 "$root/core/ingest/delta_table.cc" "$root/core/base/file_io.cc" "${parquet[@]}" \
  -- "${absl[@]}" "${codecs[@]}" simdjson \
  -- "$seeds/delta" "$testdata"/delta/{delta-2.2.0-partitioned-types,simple_table,table-with-dv-small}/_delta_log
# wire.cc's other conversions need the model catalog to link.
target wire 30 "$root/server/wire.cc" "$root/proto/wire_values.cc" "$gen/predstore/v1/predstore.pb.cc" \
  "${table[@]}" "$root"/core/model/{model_catalog,served_model,xgboost_scorer,ml_model,model_registry}.cc \
  "$root"/core/base/{crash_points,file_io,json_text,logging}.cc \
  -- "${absl[@]}" protobuf grpc++ xgboost yaml-cpp sqlite3 simdjson -- "$seeds/wire"

# Arguments pick the targets and their seconds.
if [[ $# -gt 0 ]]; then
  picked=()
  for arg in "$@"; do
    name=${arg%%=*}
    if [[ $arg != *=* || -z ${seconds[$name]+set} || ! ${arg#*=} =~ ^[0-9]+$ ]]; then
      echo "run_fuzz: expected TARGET=SECONDS with TARGET one of: ${names[*]}; got '$arg'" >&2
      exit 2
    fi
    seconds[$name]=${arg#*=}
    picked+=("$name")
  done
  names=("${picked[@]}")
fi

# Runs "$@" in the background once fewer than $parallel jobs run; a job that
# failed sets $failed.
failed=0
spawn() {
  while [[ $(jobs -rp | wc -l) -ge $parallel ]]; do wait -n || failed=1; done
  "$@" &
}
wait_all() {
  while [[ $(jobs -rp | wc -l) -gt 0 ]]; do wait -n || failed=1; done
  wait || failed=1
}

all_packages=$(for name in "${names[@]}"; do echo "${packages[$name]}"; done | tr ' ' '\n' | sort -u | tr '\n' ' ')
# shellcheck disable=SC2086
cflags="-std=c++20 -O1 -gline-tables-only -I$root -I$gen $(pkg-config --cflags $all_packages)"
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# The object of a source under $work/obj.
object_of() {
  local relative=${1#"$root"/}
  relative=${relative#"$work"/}
  echo "$work/obj/${relative//\//_}.o"
}
compile() {
  local source=$1 object quiet=()
  object=$(object_of "$source")
  [[ $source == "$gen"/* ]] && quiet=(-w)  # generated code
  # shellcheck disable=SC2086
  clang++ $cflags $sanitize -fsanitize=fuzzer-no-link "${quiet[@]}" -c "$source" -o "$object.tmp" &&
    mv "$object.tmp" "$object"
}

start=$SECONDS
echo "run_fuzz: building ${names[*]} in $work ($parallel at a time)"
mkdir -p "$work/obj" "$gen"
if [[ " ${names[*]} " == *" wire "* && ! "$gen/predstore/v1/predstore.pb.cc" -nt "$root/proto/predstore/v1/predstore.proto" ]]; then
  protoc --proto_path="$root/proto" --cpp_out="$gen" "$root/proto/predstore/v1/predstore.proto"
fi
mapfile -t all_sources < <(for name in "${names[@]}"; do echo "${sources[$name]}"; done | sort -u)
for source in "${all_sources[@]}"; do
  object=$(object_of "$source")
  [[ -f $object && $object -nt $source ]] || spawn compile "$source"
done
wait_all
[[ $failed -eq 0 ]] || { echo "run_fuzz: the build failed" >&2; exit 1; }
for name in "${names[@]}"; do
  mapfile -t objects < <(while read -r source; do object_of "$source"; done <<< "${sources[$name]}")
  stale=$([[ -f $work/${name}_fuzz ]] || echo missing)
  for object in "${objects[@]}"; do [[ $object -nt $work/${name}_fuzz ]] && stale=newer; done
  [[ -n $stale ]] || continue
  # shellcheck disable=SC2046,SC2086
  spawn clang++ $sanitize -fsanitize=fuzzer "${objects[@]}" $(pkg-config --libs ${packages[$name]}) \
    -o "$work/${name}_fuzz"
done
wait_all
[[ $failed -eq 0 ]] || { echo "run_fuzz: linking failed" >&2; exit 1; }
echo "run_fuzz: built in $((SECONDS - start))s"

# Fuzzes <name> for its seconds over its scratch corpus and its seeds (with
# tests/fuzz/<name>.dict, if there is one), then prints the end of its log in
# one piece; fails on any finding.
fuzz() {
  local name=$1 status=0 report
  local -a seed_folders dictionary=()
  mapfile -t seed_folders <<< "${corpora[$name]}"
  [[ -f $root/tests/fuzz/$name.dict ]] && dictionary=(-dict="$root/tests/fuzz/$name.dict")
  mkdir -p "$work/${name}_corpus"
  echo "run_fuzz: fuzzing $name for ${seconds[$name]}s"
  # -rss_limit_mb: the Parquet reader's own caps (512 MiB pages) must hold well under it.
  (cd "$work" && "./${name}_fuzz" -max_total_time="${seconds[$name]}" -rss_limit_mb=2048 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$work/${name}-" "${dictionary[@]}" "${name}_corpus" "${seed_folders[@]}" \
    > "$work/${name}.log" 2>&1) || status=$?
  if [[ $status -eq 0 ]]; then
    report="run_fuzz: $name: no crash in ${seconds[$name]}s"
  else
    report="run_fuzz: $name FAILED (exit $status); log $work/${name}.log; reproducer:$(printf ' %s' "$work/${name}"-*)"
  fi
  printf '%s\n%s\n' "$(tail -n 12 "$work/${name}.log")" "$report"
  return "$status"
}

start=$SECONDS
for name in "${names[@]}"; do spawn fuzz "$name"; done
wait_all
echo "run_fuzz: fuzzed in $((SECONDS - start))s"
if [[ $failed -ne 0 ]]; then
  echo "run_fuzz: a target failed; see above" >&2
  exit 1
fi
