#!/usr/bin/env bash
# Overload, side by side in one run: BatchLookups of $BATCH random keys (or
# single-key Lookups, MODE=lookup) offered at 0.5x, 2x and 4x the server's
# capacity and back to 0.5x, with a $TIMEOUT_MS deadline per call, by
# predstore-overload (open loop: it sends at the rate whatever the server
# answers). Per server build, and for the
# new build also with clients that throttle (client/adaptive_throttle.h,
# k=$THROTTLE_K) and with clients that keep an adaptive concurrency limit
# (client/concurrency_limit.h, one per connection), it prints each phase's
# goodput (OK calls per second), the latency of OK calls, the share of each
# status, and the server's peak RSS; then issue 17's targets judged for the
# run: goodput at 2x and 4x >= 90% of capacity, p99 of OK calls at 2x and 4x
# <= 3x the p99 of the first 0.5x phase, and the last 0.5x phase >= 99% OK.
#
# The server runs on CPU 0 and the load generator on CPU 1 (taskset), so
# that the client can offer 4x what the server can do on this 2-core
# machine; capacity is predstore-loadgen's best closed-loop rate (4, 16 or
# 32 callers) against each server, measured first.
#
# Usage: bench/run_overload.sh [--short] [BASE_SERVER_BINARY]
#   --short: 2 s phases, no base build, no throttled run; the adaptive-limit
#   run stays (CI's smoke run).
#   BASE_SERVER_BINARY: an older predstore-server to compare with, same data.
#   BUILD_DIR (default build), ROWS (1000000), BATCH (100), TIMEOUT_MS (100),
#   SECONDS_PER_PHASE (5), THROTTLE_K (2), SERVER_FLAGS (more flags for every server),
#   MODE (batch: BatchLookups of BATCH keys; lookup: single-key Lookups)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_common.sh"
build=${BUILD_DIR:-$root/build}
rows=${ROWS:-1000000} batch=${BATCH:-100} mode=${MODE:-batch} timeout_ms=${TIMEOUT_MS:-100} seconds=${SECONDS_PER_PHASE:-5}
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
  # Capacity: the best closed-loop rate of 4, 16 and 32 callers (runs on
  # this machine spread by +-15%; the best is the least flattering base).
  local closed_loop capacity="" rate callers
  for callers in 4 16 32; do
    closed_loop=$(taskset -c 1 "$build/bench/predstore-loadgen" --target="$target" --mode="$mode" --batch="$batch" \
      --concurrency="$callers" --duration_s="$seconds" --rows="$rows" 2>&1 || true)
    rate=$(grep "calls/s" <<<"$closed_loop" | sed -E 's/.*= ([0-9.]+) calls\/s.*/\1/' || true)
    if [[ -z "$rate" ]]; then
      echo "run_overload: measuring $label's capacity failed:" >&2
      echo "$closed_loop" >&2
      exit 1
    fi
    if [[ -z "$capacity" ]] || (($(echo "$rate > $capacity" | bc -l))); then capacity=$rate; fi
  done
  local half quad double
  half=$(printf '%.0f' "$(echo "$capacity / 2" | bc -l)")
  double=$(printf '%.0f' "$(echo "$capacity * 2" | bc -l)")
  quad=$(printf '%.0f' "$(echo "$capacity * 4" | bc -l)")
  echo "== $label: capacity $capacity calls/s (best closed loop of 4, 16 and 32 callers); phases 0.5x, 2x, 4x, 0.5x"
  taskset -c 1 "$build/bench/predstore-overload" --target="$target" --mode="$mode" --batch="$batch" --rows="$rows" \
    --timeout_ms="$timeout_ms" --server_pid="$pid" --phases="$half:$seconds,$double:$seconds,$quad:$seconds,$half:$seconds" \
    --json "$@" >"$work/phases.out" || true
  grep -v -e "^  first error" -e "^{" "$work/phases.out" || true
  python3 - "$capacity" "$work/phases.out" <<'JUDGE'
import json, sys
capacity = float(sys.argv[1])
phases = [json.loads(line) for line in open(sys.argv[2]) if line.startswith("{")]
if len(phases) != 4:
    print("targets: not judged (%d phases reported)" % len(phases))
    sys.exit(0)
unloaded_p99 = phases[0]["ok_p99_ms"]
def verdict(ok): return "met" if ok else "MISSED"
parts = []
for name, phase in (("2x", phases[1]), ("4x", phases[2])):
    share = phase["goodput_per_s"] / capacity
    ratio = phase["ok_p99_ms"] / unloaded_p99 if unloaded_p99 > 0 else float("inf")
    parts.append("%s goodput %.0f%% of capacity (>= 90%%: %s), OK p99 %.2fx unloaded (<= 3x: %s)"
                 % (name, 100 * share, verdict(share >= 0.9), ratio, verdict(ratio <= 3)))
last = phases[3]
calls = sum(last[k] for k in ("ok", "deadline_exceeded", "resource_exhausted", "unavailable", "other", "throttled", "not_sent"))
ok_share = last["ok"] / calls if calls else 0
parts.append("back at 0.5x %.1f%% OK (>= 99%%: %s)" % (100 * ok_share, verdict(ok_share >= 0.99)))
print("targets (unloaded p99 %.2f ms): " % unloaded_p99 + "; ".join(parts))
JUDGE
  kill "$pid" 2>/dev/null || echo "(the server had exited: $(tail -1 "$work/server.log"))"
  wait "$pid" 2>/dev/null || true
}

if [[ -n "$base_server" ]]; then run "base ($base_server)" "$base_server"; fi
run "this build" "$build/server/predstore-server"
if ! $short; then run "this build, clients throttling (k=$throttle_k)" "$build/server/predstore-server" \
  --throttle_k="$throttle_k"; fi
run "this build, clients with an adaptive concurrency limit" "$build/server/predstore-server" --adaptive_limit
