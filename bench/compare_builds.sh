#!/usr/bin/env bash
# Compares two builds of predstore-server side by side in one run: both
# serve the same data folder and model registry (written once by this
# build's predstore-load), and this build's predstore-loadgen drives both
# with the same cases, alternating base and new within each case and
# repeating the round REPEATS times, so that machine noise falls on both
# alike. Prints the median p50, calls/s and server CPU time per call (from
# /proc/<pid>/stat, warm-up calls included: less sensitive to a busy
# machine than latency) of each case and the ratio new / base. Use it
# before and after a change to a hot path.
#
# Usage: bench/compare_builds.sh BASE_SERVER [NEW_SERVER]
#   BASE_SERVER  a predstore-server binary built from the base commit
#   NEW_SERVER   default: $BUILD_DIR/server/predstore-server
# Environment: BUILD_DIR (default build), ROWS (default 200000), DURATION
# (measured seconds per case and run, default 3), WARMUP (default 1),
# REPEATS (default 5), CASES (an extended regex: run only the cases whose
# name matches), JSON_OUT (append every loadgen JSON line there).
# Exit status: 0 when every call of every run succeeded and was verified.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
[[ "${1:-}" == -h || "${1:-}" == --help || $# -lt 1 ]] && { usage; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
base_server=$1
new_server=${2:-$build/server/predstore-server}
ROWS=${ROWS:-200000} DURATION=${DURATION:-3} WARMUP=${WARMUP:-1} REPEATS=${REPEATS:-5}
load_bin=$build/loader/predstore-load
loadgen_bin=$build/bench/predstore-loadgen
for bin in "$base_server" "$new_server" "$load_bin" "$loadgen_bin"; do
  [[ -x "$bin" ]] || { echo "compare_builds.sh: $bin is not an executable (build it first)" >&2; exit 2; }
done

# shellcheck source=bench/bench_common.sh
source "$root/bench/bench_common.sh"
bench_scratch predstore-compare

"$load_bin" sample --rows="$ROWS" --out="$work/sample.csv" >/dev/null
"$load_bin" load --data_dir="$work/data" --table=forecasts --keys=store_id:int64,item_id:int64,horizon_days:int64 \
  --values=forecast:double,p90:double "$work/sample.csv" >/dev/null
"$load_bin" sample-model --out="$work/model" --features=30 --trees=100 --depth=6 --registry="$work/mlruns" \
  --name=bench --version=1 --stage=Production >/dev/null

start_server() {  # binary name: starts it; its port goes to $work/<name>.port
  local bin=$1 name=$2
  "$bin" --data_dir="$work/data" --listen=127.0.0.1:0 --port_file="$work/$name.port" --shutdown_grace_ms=500 \
    --refresh_interval_ms=0 --model_registry="$work/mlruns" \
    --fallback="table=forecasts,model=models:/bench/Production,output=forecast" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    [[ -s "$work/$name.port" ]] && return
    sleep 0.1
  done
  echo "compare_builds.sh: the $name server did not start:" >&2
  cat "$work/$name.log" >&2
  exit 1
}
start_server "$base_server" base
start_server "$new_server" new
base_pid=${pids[0]} new_pid=${pids[1]}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in clock ticks
tick_us=$((1000000 / $(getconf CLK_TCK)))
base_port=$(cat "$work/base.port")
new_port=$(cat "$work/new.port")

cases=(
  "lookup c=1|--mode=lookup --concurrency=1"
  "lookup c=16|--mode=lookup --concurrency=16"
  "batch(100) c=1|--mode=batch --batch=100 --concurrency=1"
  "batch_columnar(100) c=1|--mode=batch_columnar --batch=100 --concurrency=1"
  "stream c=1|--mode=stream --concurrency=1"
  "stream_batch(100) c=1|--mode=stream_batch --batch=100 --concurrency=1"
  "fallback c=1|--mode=fallback --concurrency=1"
  "predict c=1|--mode=predict --concurrency=1"
)
results=$work/results.jsonl
failed=0
for repeat in $(seq "$REPEATS"); do
  for entry in "${cases[@]}"; do
    name=${entry%%|*}
    [[ -n "${CASES:-}" && ! "$name" =~ $CASES ]] && continue
    read -ra flags <<<"${entry#*|}"
    # Alternate which build goes first, so that neither always runs warm.
    order=(base new)
    ((repeat % 2 == 0)) && order=(new base)
    for side in "${order[@]}"; do
      port=$base_port pid=$base_pid
      [[ $side == new ]] && port=$new_port pid=$new_pid
      ticks=$(cpu_ticks "$pid")
      line=$("$loadgen_bin" --target="127.0.0.1:$port" --label="$name" --rows="$ROWS" --duration_s="$DURATION" \
        --warmup_s="$WARMUP" --json "${flags[@]}" 2>"$work/loadgen.err" | grep '^{') || {
        failed=1
        echo "compare_builds.sh: $side '$name' failed:" >&2
        cat "$work/loadgen.err" >&2
        continue
      }
      cpu_us=$((($(cpu_ticks "$pid") - ticks) * tick_us))
      echo "{\"side\":\"$side\",\"repeat\":$repeat,\"server_cpu_us\":$cpu_us,${line#\{}" >>"$results"
    done
  done
  echo "round $repeat of $REPEATS done" >&2
done
[[ -n "${JSON_OUT:-}" ]] && cat "$results" >>"$JSON_OUT"

echo "base: $base_server"
echo "new:  $new_server"
echo "$ROWS rows, $REPEATS runs of ${DURATION}s per case and build, medians over the runs"
python3 - "$results" <<'EOF'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
names = list(dict.fromkeys(r["label"] for r in runs))
print("| case | base p50 µs | new p50 µs | p50 new/base | base calls/s | new calls/s | calls/s new/base "
      "| base CPU µs/call | new CPU µs/call | CPU new/base |")
print("|---|---|---|---|---|---|---|---|---|---|")
bad = 0
for name in names:
    side = {s: [r for r in runs if r["label"] == name and r["side"] == s] for s in ("base", "new")}
    bad += sum(r["errors"] + r["wrong"] for s in side.values() for r in s)
    p50 = {s: statistics.median(r["p50_us"] for r in side[s]) for s in side}
    qps = {s: statistics.median(r["qps"] for r in side[s]) for s in side}
    cpu = {s: statistics.median(r["server_cpu_us"] / (r["calls"] + r["warmup_calls"]) for r in side[s])
           for s in side}
    print(f"| {name} | {p50['base']:.1f} | {p50['new']:.1f} | {p50['new'] / p50['base']:.3f} | "
          f"{qps['base']:.0f} | {qps['new']:.0f} | {qps['new'] / qps['base']:.3f} | "
          f"{cpu['base']:.1f} | {cpu['new']:.1f} | {cpu['new'] / cpu['base']:.3f} |")
if bad:
    print(f"{bad} failed or wrong calls", file=sys.stderr)
    sys.exit(1)
EOF
exit "$failed"
