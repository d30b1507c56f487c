#!/usr/bin/env bash
# REST against gRPC, side by side in one run: one server with both front
# ends over a $ROWS-row sample; per repetition, wrk (Debian's) drives POST
# /v1/tables/forecasts:lookup and predstore-loadgen drives gRPC Lookup, each
# at $CONNECTIONS connections for $DURATION seconds with random keys.
# Prints each run's calls/s and p50/p99, and the medians' ratios.
# Usage: bench/run_http_vs_grpc.sh [--short]   (--short: 2 s, 1 repetition)
#   BUILD_DIR (default build), ROWS (200000), CONNECTIONS (64),
#   DURATION (5), REPS (3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
rows=${ROWS:-200000} connections=${CONNECTIONS:-64} duration=${DURATION:-5} reps=${REPS:-3}
if [[ "${1:-}" == "--short" ]]; then duration=2; reps=1; fi
cmake --build "$build" --target predstore-server predstore-load predstore-loadgen >/dev/null
work=$(mktemp -d /tmp/predstore-http-bench.XXXXXX)
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$build/loader/predstore-load" sample --rows="$rows" --out="$work/s.csv" >/dev/null
"$build/loader/predstore-load" load --data_dir="$work/data" --table=forecasts \
  --keys=store_id:int64,item_id:int64,horizon_days:int64 --values=forecast:double,p90:double "$work/s.csv" >/dev/null
"$build/server/predstore-server" --data_dir="$work/data" --listen=127.0.0.1:0 --port_file="$work/port" \
  --http_listen=127.0.0.1:0 --http_port_file="$work/http_port" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
http_port=$(cat "$work/http_port") grpc_port=$(cat "$work/port")
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
to_us() { awk '{ v = $1 + 0; if ($1 ~ /ms$/) v *= 1000; else if ($1 ~ /us$/) v *= 1; else if ($1 ~ /s$/) v *= 1000000; print v }'; }
rest_rps=() rest_p99=() grpc_rps=() grpc_p99=()
for ((i = 1; i <= reps; ++i)); do
  out=$(ROWS=$rows wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$root/bench/http_lookup.lua" \
    "http://127.0.0.1:$http_port")
  if grep -q "Non-2xx" <<<"$out"; then echo "$out" >&2; echo "run_http_vs_grpc: REST errors" >&2; exit 1; fi
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out" | to_us) p99=$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_us)
  echo "run $i REST (wrk):      $rps calls/s, p50 $p50 us, p99 $p99 us"
  rest_rps+=("$rps") rest_p99+=("$p99")
  out=$("$build/bench/predstore-loadgen" --target="127.0.0.1:$grpc_port" --mode=lookup --concurrency="$connections" \
    --duration_s="$duration" --rows="$rows" 2>&1 | tail -1)
  if ! grep -q "errors 0, wrong answers 0" <<<"$out"; then echo "$out" >&2; exit 1; fi
  rps=$(sed -E 's/.*= ([0-9.]+) calls\/s.*/\1/' <<<"$out")
  p50=$(sed -E 's/.*p50 ([0-9.]+).*/\1/' <<<"$out") p99=$(sed -E 's/.*p99 ([0-9.]+) .*/\1/' <<<"$out")
  echo "run $i gRPC (loadgen):  $rps calls/s, p50 $p50 us, p99 $p99 us"
  grpc_rps+=("$rps") grpc_p99+=("$p99")
done
rr=$(printf '%s\n' "${rest_rps[@]}" | median) gr=$(printf '%s\n' "${grpc_rps[@]}" | median)
rp=$(printf '%s\n' "${rest_p99[@]}" | median) gp=$(printf '%s\n' "${grpc_p99[@]}" | median)
printf 'medians: REST %.0f calls/s p99 %.0f us; gRPC %.0f calls/s p99 %.0f us\n' "$rr" "$rp" "$gr" "$gp"
printf 'REST/gRPC calls/s %.2f (target >= 0.8), p99 %.2f (target <= 2)\n' "$(echo "$rr / $gr" | bc -l)" \
  "$(echo "$rp / $gp" | bc -l)"
