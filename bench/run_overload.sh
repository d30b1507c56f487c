#!/usr/bin/env bash
# Overload, side by side in one run: BatchLookups of $BATCH random keys
# offered at 0.5x, 2x and 4x the server's capacity and back to 0.5x, with a
# $TIMEOUT_MS deadline per call, by predstore-overload (open loop: it sends
# at the rate whatever the server answers). Per server build, and for the
# new build also with clients that throttle (client/adaptive_throttle.h,
# k=$THROTTLE_K), it prints each phase's goodput (OK calls per second), the
# latency of OK calls, the share of each status, and the server's peak RSS.
#
# The server runs on CPU 0 and the load generator on CPU 1 (taskset), so
# that the client can offer 4x what the server can do on this 2-core
# machine; capacity is predstore-loadgen's closed-loop rate (16 callers)
# against each server, measured first.
#
# Usage: bench/run_overload.sh [--short] [BASE_SERVER_BINARY]
#   --short: 2 s phases, no base build, no throttled run (CI's smoke run).
#   BASE_SERVER_BINARY: an older predstore-server to compare with, same data.
#   BUILD_DIR (default build), ROWS (1000000), BATCH (100), TIMEOUT_MS (100),
#   SECONDS_PER_PHASE (5), THROTTLE_K (2), SERVER_FLAGS (more flags for every server)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_common.sh"
build=${BUILD_DIR:-$root/build}
rows=${ROWS:-1000000} batch=${BATCH:-100} timeout_ms=${TIMEOUT_MS:-100} seconds=${SECONDS_PER_PHASE:-5}
throttle_k=${THROTTLE_K:-2}
short=false
if [[ "${1:-}" == "--short" ]]; then short=true; seconds=2; rows=${ROWS:-100000}; shift; fi
base_server=${1:-}
cmake --build "$build" --target predstore-server predstore-load predstore-loadgen predstore-overload >/dev/null
bench_scratch predstore-overload
"$build/loader/predstore-load" sample --rows="$rows" --out="$work/s.csv" >/dev/null
"$build/loader/predstore-load" load --data_dir="$work/data" --table=forecasts \
  --keys=store_id:int64,item_id:int64,horizon_days:int64 --values=forecast:double,p90:double "$work/s.csv" >/dev/null

# Runs the phases against `server_binary`; `label` names the run, the
# remaining arguments go to predstore-overload.
run() {
  local label=$1 server_binary=$2
  shift 2
  rm -f "$work/port"
  # shellcheck disable=SC2086
  taskset -c 0 "$server_binary" --data_dir="$work/data" --listen=127.0.0.1:0 --port_file="$work/port" \
    ${SERVER_FLAGS:-} 2>"$work/server.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 200); do [[ -s "$work/port" ]] && break; sleep 0.05; done
  local target="127.0.0.1:$(cat "$work/port")"
  local closed_loop capacity
  closed_loop=$(taskset -c 1 "$build/bench/predstore-loadgen" --target="$target" --mode=batch --batch="$batch" \
    --concurrency=16 --duration_s="$seconds" --rows="$rows" 2>&1 || true)
  capacity=$(grep "calls/s" <<<"$closed_loop" | sed -E 's/.*= ([0-9.]+) calls\/s.*/\1/' || true)
  if [[ -z "$capacity" ]]; then
    echo "run_overload: measuring $label's capacity failed:" >&2
    echo "$closed_loop" >&2
    exit 1
  fi
  local half quad double
  half=$(printf '%.0f' "$(echo "$capacity / 2" | bc -l)")
  double=$(printf '%.0f' "$(echo "$capacity * 2" | bc -l)")
  quad=$(printf '%.0f' "$(echo "$capacity * 4" | bc -l)")
  echo "== $label: capacity $capacity calls/s (closed loop, 16 callers); phases 0.5x, 2x, 4x, 0.5x"
  taskset -c 1 "$build/bench/predstore-overload" --target="$target" --batch="$batch" --rows="$rows" \
    --timeout_ms="$timeout_ms" --server_pid="$pid" --phases="$half:$seconds,$double:$seconds,$quad:$seconds,$half:$seconds" \
    "$@" | grep -v "^  first error" || true
  kill "$pid" 2>/dev/null || echo "(the server had exited: $(tail -1 "$work/server.log"))"
  wait "$pid" 2>/dev/null || true
}

if [[ -n "$base_server" ]]; then run "base ($base_server)" "$base_server"; fi
run "this build" "$build/server/predstore-server"
if ! $short; then run "this build, clients throttling (k=$throttle_k)" "$build/server/predstore-server" \
  --throttle_k="$throttle_k"; fi
