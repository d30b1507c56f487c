#!/usr/bin/env bash
# Checks that #include lines follow the layering the README's development
# section states: each folder may include only the folders it lists, and
# core never includes gRPC, protobuf or flags. Prints every violation as
# file:line: the include, and why; exits 1 if there is one.
# Usage: tests/layering/check_layering.sh [repository root]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

# Folder -> the project folders its files may include (besides its own).
declare -A allowed=(
  [core/base]=""
  [core/table]="core/base"
  [core/snapshot]="core/base core/table"
  [core/stream]="core/base core/table core/snapshot"
  [core/model]="core/base core/table"
  [core/parquet]="core/base"
  [core/ingest]="core/base core/table core/snapshot core/model core/parquet"
  [core/serve]="core/base core/table core/snapshot core/stream core/model"
  [proto]="core/base core/table"
  [server]="proto core/base core/table core/snapshot core/stream core/model core/serve"
  [client]="proto core/base core/table"
  [loader]="client proto core/base core/table core/snapshot core/model core/ingest"
)
# Folder -> include prefixes it must never use (third-party layers).
declare -A forbidden=(
  [core]="grpc grpcpp google/protobuf absl/flags predstore/v1"
  [server]="rocksdb"
  [client]="rocksdb"
)

violations=0
report() { echo "$1: $2"; violations=$((violations + 1)); }

while IFS= read -r file; do
  folder=""
  for f in "${!allowed[@]}"; do
    if [[ "$file" == "$f/"* && ${#f} -gt ${#folder} ]]; then folder=$f; fi
  done
  [[ -n "$folder" ]] || continue
  top=${folder%%/*}
  while IFS=: read -r line include; do
    target=$(sed -E 's/^#include +[<"]([^">]+)[">].*/\1/' <<<"$include")
    for prefix in ${forbidden[$top]:-}; do
      [[ "$target" == "$prefix/"* ]] && report "$file:$line" "includes $target: $top/ must not use ${prefix}"
    done
    case "$target" in
      core/*/*|proto/*|server/*|client/*|loader/*) ;;
      *) continue ;;
    esac
    dir=$(dirname "$target")
    [[ "$dir" == "$folder" ]] && continue
    ok=0
    for a in ${allowed[$folder]}; do [[ "$dir" == "$a" ]] && ok=1; done
    ((ok)) || report "$file:$line" "includes $target: $folder/ may use only: ${allowed[$folder]:-nothing of the project}"
  done < <(grep -n '^#include' "$file" || true)
done < <(find core proto server client loader -name '*.h' -o -name '*.cc' | sort)

if ((violations)); then
  echo "check_layering: $violations include(s) against the layering (README, Development)" >&2
  exit 1
fi
echo "check_layering: every include follows the layering"
