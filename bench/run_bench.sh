#!/usr/bin/env bash
# End-to-end benchmark of predstore, side by side with a trivial gRPC echo
# server as the latency floor, all in one run on this machine, reproducing
# a results report with one command:
#   1. builds predstore-server, predstore-load, predstore-bench-echo,
#      predstore-loadgen, predstore-bench-minimal and scorer_benchmark in
#      $BUILD_DIR;
#   2. writes a sample of $ROWS rows and loads it from CSV and from
#      Parquet, timing each by the wall clock of the process, and the
#      loader's peak RSS;
#   3. starts predstore-server (also on RESP, key fc:<store>:<item>:<horizon>)
#      and the echo server on free ports;
#   4. runs predstore-loadgen against each for $DURATION seconds per case,
#      $REPEATS times, round-robin (every case once, then every case again)
#      so that machine noise spreads evenly over the cases; the cases
#      include a concurrency sweep of lookup and echo (c = 1, 4, 16, 64;
#      --short: 1, 4), one channel (TCP connection) per caller; the "spin"
#      cases poll for each answer instead of sleeping (loadgen --wait=spin);
#      then cross-checks the c=1 floors (echo, Redis GET, predstore's RESP
#      GET) with predstore-bench-minimal and redis-benchmark, side by side;
#   5. prints a table of medians over the repeats (with the min-max of p50
#      and calls/s), the predstore/echo ratios of the medians, issue 16's
#      targets and issue 5's judged on them, profiles with perf both cases of each missed
#      comparison, and writes $OUT_DIR/RESULTS.md (machine, versions,
#      parameters, loader, memory, tables, targets, profiles) with two
#      gnuplot figures beside it: latency_cdf.png (the
#      last repeat's latency CDF per case) and throughput.png (calls/s vs
#      concurrency); without gnuplot the figures are skipped with a message;
#   6. stops the servers (also on error or Ctrl-C).
# The model cases: a seeded XGBoost model (MODEL_TREES trees of depth 6 over
# 30 features, predstore-load sample-model) is registered as
# models:/bench/Production in an MLflow file-store registry that the server
# serves, and the table is bound to it for fallback. Predict of one row, a
# fallback lookup (a key never stored, with just-in-time features) and a mix
# (every lookup sends features; 10% of the keys were never stored) run
# beside the precomputed lookup; Predict at c=32 runs against this server
# (concurrent calls batched) and against a second server on the same data
# started with --batch_max_rows=1 (each call scored alone).
# Memory at scale: a second table of $MEMORY_ROWS rows is served by a lean
# server (--memory_index_mb=0: the data stays on disk, only the default
# 256 MiB block cache holds what is read), by a server with default flags,
# and loaded into a second redis-server; both are asked for keys of a hot set of $HOT_ROWS rows
# spread over the table, after the lean server's cache has been warmed on
# it by $MEMORY_WARM_S s of columnar batches. Both servers' RSS is reported.
# The ingest cases stream prediction events (event time now) into a third
# server with --ingest, on its own copy of the table (so that the lookup
# cases above read no stream store): one event per batch gives the delay
# from sending an event to its being visible to lookups (the commit), 100
# per batch the throughput.
#
# Usage: bench/run_bench.sh [--short]
#   --short            ROWS=20000 DURATION=1 WARMUP=0.5 REPEATS=1, sweep c=1,4, and
#                      OUT_DIR=$BUILD_DIR/bench-short (CI: keeps the suite from rotting
#                      without dirtying the tree)
# Environment (each overrides the mode's default):
#   BUILD_DIR   build folder, relative to the repository root or absolute (default: build)
#   ROWS        sample rows (default 1000000)
#   DURATION    measured seconds per case and repeat (default 5)
#   WARMUP      unrecorded seconds before each case and repeat (default 1)
#   REPEATS     rounds over all cases (default 3)
#   OUT_DIR     where RESULTS.md and the PNGs go (default: bench/, the committed report)
#   JOBS        parallel build jobs (default: nproc)
#   MODEL_TREES trees of the benchmark model (default 100; --short: 20)
#   MEMORY_ROWS rows of the memory-at-scale table (default 10000000; --short: 100000); 0 skips it
#   HOT_ROWS    rows of its hot set (default MEMORY_ROWS / 100)
#   MEMORY_WARM_S seconds of cache warming on the hot set (default 10; --short: 1)
#   PROFILE_S   seconds each case of a missed target is rerun under perf (default 3; --short: 1)
#   JSON_OUT    if set, the loadgen JSON lines (with a "repeat" field) are appended to this file
#   KEEP_WORK=1 keep the temporary folder (sample, data, logs, CDF and plot data)
# Exit status: 0 when every case ran with no failed call and no wrong
# answer; 1 otherwise (the table and report are still written, unless a
# server died mid-run: then its exit status and log are printed); 2 on bad
# usage.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

short=0
for arg in "$@"; do
  case "$arg" in
    --short) short=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run_bench.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done
if ((short)); then
  ROWS=${ROWS:-20000} DURATION=${DURATION:-1} WARMUP=${WARMUP:-0.5} REPEATS=${REPEATS:-1} MODEL_TREES=${MODEL_TREES:-20}
  MEMORY_ROWS=${MEMORY_ROWS:-100000} MEMORY_WARM_S=${MEMORY_WARM_S:-1}
  sweep=(1 4)
else
  ROWS=${ROWS:-1000000} DURATION=${DURATION:-5} WARMUP=${WARMUP:-1} REPEATS=${REPEATS:-3} MODEL_TREES=${MODEL_TREES:-100}
  MEMORY_ROWS=${MEMORY_ROWS:-10000000} MEMORY_WARM_S=${MEMORY_WARM_S:-10}
  sweep=(1 4 16 64)
fi
JOBS=${JOBS:-$(nproc)}
[[ "$REPEATS" =~ ^[1-9][0-9]*$ ]] || { echo "run_bench.sh: REPEATS must be a positive integer" >&2; exit 2; }
[[ "$MEMORY_ROWS" =~ ^[0-9]+$ ]] || { echo "run_bench.sh: MEMORY_ROWS must be a whole number" >&2; exit 2; }
HOT_ROWS=${HOT_ROWS:-$((MEMORY_ROWS / 100 > 0 ? MEMORY_ROWS / 100 : MEMORY_ROWS))}
[[ "$HOT_ROWS" =~ ^[0-9]+$ ]] && ((HOT_ROWS <= MEMORY_ROWS)) ||
  { echo "run_bench.sh: HOT_ROWS must be a whole number no larger than MEMORY_ROWS" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-build}
[[ "$build" = /* ]] || build="$root/$build"
if ((short)); then out_dir=${OUT_DIR:-$build/bench-short}; else out_dir=${OUT_DIR:-$root/bench}; fi
[[ "$out_dir" = /* ]] || out_dir="$root/$out_dir"

log() { printf '== %s\n' "$*"; }

# ---- cleanup: stop what we started, remove the work folder ----------------
work=""
server_pid=""
unbatched_pid=""
ingest_pid=""
echo_pid=""
redis_pid=""
lean_pid=""
big_pid=""
big_redis_pid=""
load_pid=""
stop_process() {  # pid name
  local pid=$1 name=$2
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do  # up to 5 s
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "run_bench.sh: $name (pid $pid) ignored SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  stop_process "$load_pid" predstore-load
  stop_process "$echo_pid" predstore-bench-echo
  stop_process "$redis_pid" redis-server
  stop_process "$big_redis_pid" "redis-server (memory at scale)"
  stop_process "$big_pid" "predstore-server (memory at scale, default flags)"
  stop_process "$lean_pid" "predstore-server (lean)"
  stop_process "$server_pid" predstore-server
  stop_process "$unbatched_pid" "predstore-server (unbatched)"
  stop_process "$ingest_pid" "predstore-server (ingest)"
  if [[ -n "$work" ]]; then
    if [[ "${KEEP_WORK:-0}" == 1 ]]; then
      echo "run_bench.sh: kept $work" >&2
    else
      rm -rf "$work"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 1. build ---------------------------------------------------------------
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  log "configuring $build (Release, benchmarks on, tests off)"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPREDSTORE_BUILD_TESTS=OFF \
    -DPREDSTORE_BUILD_BENCH=ON >/dev/null
elif ! grep -q '^PREDSTORE_BUILD_BENCH:BOOL=ON' "$build/CMakeCache.txt"; then
  log "turning PREDSTORE_BUILD_BENCH on in $build"
  cmake -S "$root" -B "$build" -DPREDSTORE_BUILD_BENCH=ON >/dev/null
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
if [[ "$build_type" != Release ]]; then
  echo "run_bench.sh: warning: $build is a '$build_type' build, not Release; numbers are not representative" >&2
fi
# The tree as it is before this run rewrites the report and its plots.
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit (working tree has uncommitted changes)"
log "building in $build with -j$JOBS"
cmake --build "$build" -j "$JOBS" --target predstore-server predstore-load predstore-bench-echo predstore-loadgen \
  predstore-bench-minimal scorer_benchmark \
  >"$build/run_bench_build.log" 2>&1 || { tail -50 "$build/run_bench_build.log" >&2; exit 1; }
server_bin="$build/server/predstore-server"
load_bin="$build/loader/predstore-load"
echo_bin="$build/bench/predstore-bench-echo"
loadgen_bin="$build/bench/predstore-loadgen"
minimal_bin="$build/bench/predstore-bench-minimal"

work=$(mktemp -d "${TMPDIR:-/tmp}/predstore-bench.XXXXXX")
log "rows=$ROWS duration=${DURATION}s warmup=${WARMUP}s repeats=$REPEATS build=$build_type cpus=$(nproc) work=$work"

# ---- 2. sample and load -----------------------------------------------------
"$load_bin" sample --rows="$ROWS" --out="$work/sample.csv" >/dev/null
log "sample: $ROWS rows, $(du -h "$work/sample.csv" | cut -f1) of CSV"

# shellcheck disable=SC2054  # the commas are inside flag values
load_args=(load --data_dir="$work/data" --table=forecasts
  --keys=store_id:int64,item_id:int64,horizon_days:int64 --values=forecast:double,p90:double "$work/sample.csv")
peak_rss_kib=""
load_start=$(date +%s.%N)
if [[ -x /usr/bin/time ]] && /usr/bin/time -v true >/dev/null 2>&1; then
  rss_method="/usr/bin/time -v (Maximum resident set size)"
  /usr/bin/time -v -o "$work/load.time" "$load_bin" "${load_args[@]}" >"$work/load.out" 2>"$work/load.err" ||
    { cat "$work/load.err" >&2; exit 1; }
  peak_rss_kib=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$work/load.time")
else
  # VmHWM is the process's own high-water mark; sampling it every 20 ms
  # misses only growth in the last 20 ms before exit.
  rss_method="/proc/<pid>/status VmHWM, sampled every 20 ms (package 'time' not installed)"
  "$load_bin" "${load_args[@]}" >"$work/load.out" 2>"$work/load.err" &
  load_pid=$!
  while kill -0 "$load_pid" 2>/dev/null; do
    hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$load_pid/status" 2>/dev/null || true)
    [[ -n "$hwm" ]] && peak_rss_kib=$hwm
    sleep 0.02
  done
  load_rc=0
  wait "$load_pid" || load_rc=$?
  load_pid=""
  ((load_rc == 0)) || { cat "$work/load.err" >&2; exit 1; }
fi
# The wall clock of the whole process (start, read, sort, write, publish),
# as Redis's load is timed below: not the loader's own figure.
load_wall_s=$(awk -v a="$load_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
load_line=$(grep 'published version' "$work/load.out" || true)
load_rows_per_s=$(awk -v r="$ROWS" -v s="$load_wall_s" 'BEGIN { printf "%.0f", r / s }')
log "loader: $load_line"
# The same rows written as Parquet by predstore's writer, loaded into a
# table of their own, timed the same way.
"$load_bin" sample --rows="$ROWS" --out="$work/sample.parquet" >/dev/null
parquet_start=$(date +%s.%N)
"$load_bin" load --data_dir="$work/data-parquet" "${load_args[@]:2:3}" "$work/sample.parquet" >/dev/null
parquet_wall_s=$(awk -v a="$parquet_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
parquet_rows_per_s=$(awk -v r="$ROWS" -v s="$parquet_wall_s" 'BEGIN { printf "%.0f", r / s }')
rm -rf "$work/data-parquet"
log "loader: CSV ${load_wall_s}s wall clock, Parquet ${parquet_wall_s}s (${parquet_rows_per_s} rows/s)"
log "loader: ${load_rows_per_s:-?} rows/s from CSV (wall clock), peak RSS $(awk -v k="${peak_rss_kib:-0}" 'BEGIN { printf "%.1f MiB", k / 1024 }') [measured by $rss_method]"

# ---- 3. servers -------------------------------------------------------------
wait_for_port_file() {  # file pid name log; prints the port
  local file=$1 pid=$2 name=$3 logfile=$4
  for _ in $(seq 1 600); do  # up to 30 s
    if [[ -s "$file" ]]; then
      cat "$file"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run_bench.sh: $name exited before writing $file; its log:" >&2
      cat "$logfile" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "run_bench.sh: $name did not write $file within 30 s; its log:" >&2
  cat "$logfile" >&2
  return 1
}

"$load_bin" sample-model --out="$work/model" --features=30 --trees="$MODEL_TREES" --depth=6 \
  --registry="$work/mlruns" --name=bench --version=1 --stage=Production >"$work/model.log"
log "model: $(head -1 "$work/model.log")"
# The in-process cost of scoring one row with this model (XGBoostScorer, no
# gRPC): the Predict target is the echo floor plus 1.5 times this.
scorer_us=$(PREDSTORE_BENCH_MODEL_DIR="$work/model" "$build/bench/scorer_benchmark" \
  --benchmark_filter='BM_PredictRows/1$' --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=json 2>"$work/scorer.err" |
  python3 -c 'import json, sys
print("%.1f" % next(b["real_time"] / 1000 for b in json.load(sys.stdin)["benchmarks"] if b["name"].endswith("_median")))') ||
  { cat "$work/scorer.err" >&2; exit 1; }
log "scoring one row in process: ${scorer_us} us (median of 5, scorer_benchmark BM_PredictRows/1)"
model_flags=(--model_registry="$work/mlruns" --fallback="table=forecasts,model=models:/bench/Production,output=forecast")
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The main server also speaks RESP: key fc:<store_id>:<item_id>:<horizon_days>,
# as the Redis below holds them.
# Its metrics (HTTP) say where its memory goes.
resp_port=$(free_port) server_http_port=$(free_port)
"$server_bin" --data_dir="$work/data" --listen=127.0.0.1:0 --port_file="$work/server.port" \
  --resp_listen="127.0.0.1:$resp_port" --resp_tables=table=forecasts,prefix=fc \
  --http_listen="127.0.0.1:$server_http_port" \
  --shutdown_grace_ms=1000 "${model_flags[@]}" 2>"$work/server.log" &
server_pid=$!
"$server_bin" --data_dir="$work/data" --listen=127.0.0.1:0 --port_file="$work/unbatched.port" \
  --shutdown_grace_ms=1000 --warm_cache=false "${model_flags[@]}" --batch_max_rows=1 2>"$work/unbatched.log" &
unbatched_pid=$!
"$load_bin" load --data_dir="$work/data-ingest" "${load_args[@]:2}" >/dev/null  # the same table, its own folder
"$server_bin" --data_dir="$work/data-ingest" --listen=127.0.0.1:0 --port_file="$work/ingest.port" \
  --shutdown_grace_ms=1000 --warm_cache=false --ingest 2>"$work/ingest.log" &
ingest_pid=$!
"$echo_bin" --listen=127.0.0.1:0 --port_file="$work/echo.port" 2>"$work/echo.log" &
echo_pid=$!
server_port=$(wait_for_port_file "$work/server.port" "$server_pid" predstore-server "$work/server.log")
echo_port=$(wait_for_port_file "$work/echo.port" "$echo_pid" predstore-bench-echo "$work/echo.log")
unbatched_port=$(wait_for_port_file "$work/unbatched.port" "$unbatched_pid" "predstore-server (unbatched)" \
  "$work/unbatched.log")
ingest_port=$(wait_for_port_file "$work/ingest.port" "$ingest_pid" "predstore-server (ingest)" "$work/ingest.log")
log "predstore-server on 127.0.0.1:$server_port (pid $server_pid), echo on 127.0.0.1:$echo_port (pid $echo_pid)"

# Redis (Debian's redis-server), loaded with the same rows, as the obvious
# alternative store: key fc:<store_id>:<item_id>:<horizon_days>, value
# "<forecast>,<p90>" (the CSV's text), bulk-loaded with redis-cli --pipe.
have_redis=0
command -v redis-server >/dev/null && command -v redis-cli >/dev/null && have_redis=1
start_redis() {  # name csv; sets started_redis_port, started_redis_pid and started_redis_load_s
  local name=$1 csv=$2 start
  started_redis_port=$(free_port)
  redis-server --port "$started_redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >"$work/$name.log" 2>&1 &
  started_redis_pid=$!
  for _ in $(seq 1 200); do redis-cli -p "$started_redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  start=$(date +%s.%N)
  awk -F, 'NR > 1 { k = "fc:" $1 ":" $2 ":" $3; v = $4 "," $5;
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v }' "$csv" |
    redis-cli -p "$started_redis_port" --pipe >"$work/$name.load" 2>&1 || { cat "$work/$name.load" >&2; exit 1; }
  started_redis_load_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
}
redis_port=""
if ((have_redis)); then
  start_redis redis "$work/sample.csv"
  redis_port=$started_redis_port redis_pid=$started_redis_pid redis_load_s=$started_redis_load_s
  redis_rows_per_s=$(awk -v r="$ROWS" -v s="$redis_load_s" 'BEGIN { printf "%.0f", r / s }')
  log "redis-server on 127.0.0.1:$redis_port (pid $redis_pid): loaded $ROWS rows in ${redis_load_s}s" \
    "(${redis_rows_per_s} rows/s, awk + redis-cli --pipe)"
else
  log "redis-server not installed: skipping the Redis cases"
fi

# Memory at scale: the lean server, a default server and a second Redis on
# a MEMORY_ROWS table.
lean_port="" big_port="" big_redis_port=""
if ((MEMORY_ROWS > 0)); then
  "$load_bin" sample --rows="$MEMORY_ROWS" --out="$work/sample-big.csv" >/dev/null
  "$load_bin" load --data_dir="$work/data-big" "${load_args[@]:2:3}" "$work/sample-big.csv" \
    >"$work/load-big.out" || exit 1
  "$server_bin" --data_dir="$work/data-big" --listen=127.0.0.1:0 --port_file="$work/lean.port" \
    --shutdown_grace_ms=1000 --memory_index_mb=0 2>"$work/lean.log" &
  lean_pid=$!
  lean_port=$(wait_for_port_file "$work/lean.port" "$lean_pid" "predstore-server (lean)" "$work/lean.log")
  big_http_port=$(free_port)
  "$server_bin" --data_dir="$work/data-big" --listen=127.0.0.1:0 --port_file="$work/big.port" \
    --http_listen="127.0.0.1:$big_http_port" --shutdown_grace_ms=1000 2>"$work/big.log" &
  big_pid=$!
  big_port=$(wait_for_port_file "$work/big.port" "$big_pid" "predstore-server (default flags, big table)" \
    "$work/big.log")
  if ((have_redis)); then
    start_redis big-redis "$work/sample-big.csv"
    big_redis_port=$started_redis_port big_redis_pid=$started_redis_pid
  fi
  rm -f "$work/sample-big.csv"
  log "memory at scale: $MEMORY_ROWS rows served by predstore-server --memory_index_mb=0 on 127.0.0.1:$lean_port" \
    "${big_redis_port:+and by redis-server on 127.0.0.1:$big_redis_port}; warming the block cache on $HOT_ROWS hot rows"
  for port in "$lean_port" "$big_port"; do
    "$loadgen_bin" --target="127.0.0.1:$port" --mode=batch_columnar --batch=100 --concurrency=2 \
      --rows="$MEMORY_ROWS" --hot_rows="$HOT_ROWS" --warmup_s=0 --duration_s="$MEMORY_WARM_S" --label="cache warming" |
      sed 's/^/   /'
  done
fi

# ---- 4. load generation -----------------------------------------------------
# The cases, in run order: name, target (server or echo) and loadgen flags.
names=()
declare -A case_target case_flags
add_case() {  # name target flags...
  local name=$1 target=$2
  shift 2
  names+=("$name")
  case_target[$name]=$target
  case_flags[$name]="$*"
}
add_case "echo c=1" echo --mode=echo --concurrency=1
add_case "lookup c=1" server --mode=lookup --concurrency=1
# The lean client path: the caller polls for its answer instead of sleeping
# (predstore-loadgen --wait=spin), so no client wake-up hides the server's
# cost. It needs a core of its own beside the server's.
spin=0
(($(nproc) > 1)) && spin=1
if ((spin)); then
  add_case "echo c=1 spin" echo --mode=echo --concurrency=1 --wait=spin
  add_case "lookup c=1 spin" server --mode=lookup --concurrency=1 --wait=spin
fi
add_case "echo c=16" echo --mode=echo --concurrency=16
add_case "lookup c=16" server --mode=lookup --concurrency=16
add_case "lookup c=16 shared" server --mode=lookup --concurrency=16 --channels=shared
# Batch floors: an echo of the very bytes each batch request puts on the wire.
add_case "echo_bytes(batch(100)) c=1" echo --mode=echo_bytes --echo_of=batch --batch=100 --concurrency=1
add_case "batch(100) c=1" server --mode=batch --batch=100 --concurrency=1
add_case "echo_bytes(batch_columnar(100)) c=1" echo --mode=echo_bytes --echo_of=batch_columnar --batch=100 \
  --concurrency=1
add_case "batch_columnar(100) c=1" server --mode=batch_columnar --batch=100 --concurrency=1
add_case "stream_batch(100) c=1" server --mode=stream_batch --batch=100 --concurrency=1
add_case "echo_stream c=1" echo --mode=echo_stream --concurrency=1
add_case "stream c=1" server --mode=stream --concurrency=1
add_case "echo_stream c=16" echo --mode=echo_stream --concurrency=16
add_case "stream c=16" server --mode=stream --concurrency=16
# Open loop at a fixed arrival rate: latency from the intended send time.
add_case "echo open 2000/s" echo --mode=echo --concurrency=4 --rate=2000
add_case "lookup open 2000/s" server --mode=lookup --concurrency=4 --rate=2000
# Models: precomputed lookup (above) vs on-demand scoring, and batching.
add_case "predict c=1" server --mode=predict --concurrency=1
add_case "fallback c=1" server --mode=fallback --concurrency=1
add_case "mix(10% fallback) c=1" server --mode=mix --fallback_share=0.1 --concurrency=1
# Range scans: one store's 10 consecutive items, every horizon (140 rows).
add_case "scan(140 rows) c=1" server --mode=scan --scan_items=10 --concurrency=1
add_case "predict c=32" server --mode=predict --concurrency=32
add_case "predict c=32 unbatched" unbatched --mode=predict --concurrency=32
add_case "ingest(1) c=1" ingest --mode=ingest --batch=1 --concurrency=1
add_case "ingest(100) c=1" ingest --mode=ingest --batch=100 --concurrency=1
add_case "ingest(100) c=4" ingest --mode=ingest --batch=100 --concurrency=4
if [[ -n "$redis_port" ]]; then
  add_case "redis GET c=1" redis --mode=redis_get --concurrency=1
  add_case "redis GET c=16" redis --mode=redis_get --concurrency=16
  add_case "redis GET c=50" redis --mode=redis_get --concurrency=50
  add_case "redis MGET(100) c=1" redis --mode=redis_mget --batch=100 --concurrency=1
  ((spin)) && add_case "redis GET c=1 spin" redis --mode=redis_get --concurrency=1 --wait=spin
fi
# predstore's Redis front end (--resp_listen), driven like Redis above.
add_case "resp GET c=1" resp --mode=redis_get --concurrency=1
((spin)) && add_case "resp GET c=1 spin" resp --mode=redis_get --concurrency=1 --wait=spin
add_case "resp GET c=50" resp --mode=redis_get --concurrency=50
add_case "resp MGET(100) c=1" resp --mode=redis_mget --batch=100 --concurrency=1
# Memory at scale: the hot set of the MEMORY_ROWS table, lean server and Redis.
if [[ -n "$lean_port" ]]; then
  add_case "lean lookup hot c=1" lean --mode=lookup --concurrency=1 --rows="$MEMORY_ROWS" --hot_rows="$HOT_ROWS"
  add_case "big lookup hot c=1" big --mode=lookup --concurrency=1 --rows="$MEMORY_ROWS" --hot_rows="$HOT_ROWS"
fi
if [[ -n "$big_redis_port" ]]; then
  add_case "redis GET hot c=1" big_redis --mode=redis_get --concurrency=1 --rows="$MEMORY_ROWS" --hot_rows="$HOT_ROWS"
fi
for c in "${sweep[@]}"; do  # the concurrency sweep: what the list above lacks
  [[ -v "case_target[echo c=$c]" ]] || add_case "echo c=$c" echo --mode=echo --concurrency="$c"
  [[ -v "case_target[lookup c=$c]" ]] || add_case "lookup c=$c" server --mode=lookup --concurrency="$c"
done

slug() { tr -c 'A-Za-z0-9=\n' '_' <<<"$1" | tr '=' '-'; }
mkdir -p "$work/cdf"
# A case's target kind (server, resp, unbatched, ingest, lean, big, redis,
# big_redis, echo) to its server's pid and port.
pid_of_target() {
  case "$1" in
    server | resp) echo "$server_pid" ;; unbatched) echo "$unbatched_pid" ;; ingest) echo "$ingest_pid" ;;
    lean) echo "$lean_pid" ;; big) echo "$big_pid" ;; redis) echo "$redis_pid" ;;
    big_redis) echo "$big_redis_pid" ;; *) echo "$echo_pid" ;;
  esac
}
port_of_target() {
  case "$1" in
    server) echo "$server_port" ;; resp) echo "$resp_port" ;; unbatched) echo "$unbatched_port" ;;
    ingest) echo "$ingest_port" ;; lean) echo "$lean_port" ;; big) echo "$big_port" ;; redis) echo "$redis_port" ;;
    big_redis) echo "$big_redis_port" ;; *) echo "$echo_port" ;;
  esac
}
declare -A json  # "name#repeat" -> the loadgen JSON line
failed=0
run_case() {  # name repeat
  local name=$1 repeat=$2 target flags out rc=0
  target="127.0.0.1:$(port_of_target "${case_target[$name]}")"
  read -ra flags <<<"${case_flags[$name]}"
  # The last repeat's CDF survives: each repeat overwrites the file.
  out=$("$loadgen_bin" --target="$target" --label="$name" --duration_s="$DURATION" --warmup_s="$WARMUP" \
    --rows="$ROWS" --json --cdf_out="$work/cdf/$(slug "$name").dat" "${flags[@]}" 2>"$work/loadgen.err") || rc=$?
  grep -v '^{' <<<"$out" | sed 's/^/   /' || true
  if ((rc != 0)); then
    failed=1
    echo "run_bench.sh: case '$name' (repeat $repeat) exited with status $rc:" >&2
    sed 's/^/   /' "$work/loadgen.err" >&2
  fi
  local entry pid what logname
  for entry in "$server_pid predstore-server server" "$unbatched_pid predstore-server unbatched" \
    "$ingest_pid predstore-server ingest" "${lean_pid:-none} predstore-server lean" \
    "${big_pid:-none} predstore-server big" \
    "$echo_pid predstore-bench-echo echo"; do
    read -r pid what logname <<<"$entry"
    [[ "$pid" == none ]] && continue
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" && rc=0 || rc=$?
      echo "run_bench.sh: $what (pid $pid) died during case '$name' with status $rc; its log:" >&2
      cat "$work/$logname.log" >&2 || true
      exit 1
    fi
  done
  json[$name#$repeat]=$(grep '^{' <<<"$out" || echo '{}')
  if [[ -n "${JSON_OUT:-}" ]]; then echo "{\"repeat\":$repeat,${json[$name#$repeat]#\{}" >>"$JSON_OUT"; fi
}
log "loadgen: closed loop, ${DURATION}s per case after ${WARMUP}s warm-up, ${#names[@]} cases x $REPEATS repeats round-robin;" \
  "one channel (TCP connection) per caller unless 'shared'"
started=$SECONDS
for ((r = 1; r <= REPEATS; r++)); do
  log "repeat $r/$REPEATS"
  for name in "${names[@]}"; do run_case "$name" "$r"; done
done
log "load generation took $((SECONDS - started)) s"

# ---- cross-check of the load generator ------------------------------------
# Each c=1 floor measured, side by side in $REPEATS rounds, by three clients
# that share no code: predstore-loadgen, predstore-bench-minimal (gRPC's
# generic stub with bytes serialized once; a raw socket for RESP) and, for
# RESP, Debian's redis-benchmark (which always sleeps until its answer).
# A load generator that adds its own cost to every call would show here as
# a p50 above the minimal client's.
cross_floors=("gRPC echo|echo|echo" "predstore RESP GET|resp|redis_get")
[[ -n "$redis_port" ]] && cross_floors+=("Redis GET|redis|redis_get")
cross_waits=(block)
((spin)) && cross_waits+=(spin)
cross_requests=$( ((short)) && echo 2000 || echo 20000)
declare -A cross  # "floor|client|wait" -> the p50s of the rounds, in µs
first_key="fc:$(sed -n '2s/^\([^,]*\),\([^,]*\),\([^,]*\),.*/\1:\2:\3/p' "$work/sample.csv")"
cross_fail() { echo "run_bench.sh: cross-check: $1" >&2; failed=1; }
for ((r = 1; r <= REPEATS; r++)); do
  log "cross-check round $r/$REPEATS"
  for floor in "${cross_floors[@]}"; do
    IFS='|' read -r floor_name kind mode <<<"$floor"
    port=$(port_of_target "$kind")
    for wait in "${cross_waits[@]}"; do
      out=$("$loadgen_bin" --target="127.0.0.1:$port" --mode="$mode" --wait="$wait" --rows="$ROWS" --json \
        --duration_s="$( ((short)) && echo 0.5 || echo 3)" --warmup_s=0.5 2>&1) || cross_fail "loadgen $floor_name: $out"
      cross[$floor_name|loadgen|$wait]+="$(sed -n 's/.*"p50_us":\([0-9.eE+-]*\).*/\1/p' <<<"$out") "
      protocol=grpc_echo
      [[ "$kind" != echo ]] && protocol=resp_get
      out=$("$minimal_bin" --target="127.0.0.1:$port" --protocol="$protocol" --key="$first_key" --wait="$wait" \
        --requests="$cross_requests" 2>&1) || cross_fail "minimal client $floor_name: $out"
      cross[$floor_name|minimal|$wait]+="$(sed -n 's/^p50_us=\([0-9.]*\) .*/\1/p' <<<"$out") "
    done
    if [[ "$kind" != echo ]] && command -v redis-benchmark >/dev/null; then
      out=$(redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -n "$cross_requests" --csv GET "$first_key" 2>/dev/null |
        awk -F'"' 'NR == 2 { print $10 * 1000 }')
      [[ -n "$out" ]] || cross_fail "redis-benchmark $floor_name printed nothing"
      cross[$floor_name|redis-benchmark|block]+="$out "
    fi
  done
done

# ---- 5. results -------------------------------------------------------------
field() {  # "name#repeat" key
  local value
  value=$(sed -n 's/.*"'"$2"'":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p' <<<"${json[$1]}")
  echo "${value:-nan}"
}
# Median (the mean of the middle two for an even count), min and max over
# the repeats, into med, lo and hi keyed "name|key"; errors and wrong are
# summed, max is the max.
declare -A med lo hi
for name in "${names[@]}"; do
  for key in qps keys_per_s p50_us p90_us p99_us p999_us max_us errors wrong; do
    read -r "med[$name|$key]" "lo[$name|$key]" "hi[$name|$key]" < <(
      for ((r = 1; r <= REPEATS; r++)); do field "$name#$r" "$key"; done | sort -g |
        awk -v key="$key" '{ a[NR] = $1; s += $1 }
          END { n = NR; m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2;
                if (key == "errors" || key == "wrong") m = s; else if (key == "max_us") m = a[n];
                print m, a[1], a[n] }')
  done
done
num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "nan" || v == "") printf "nan"; else printf f, v }'; }
range() { printf '%s–%s' "$(num "${lo[$1|$2]}" "$3")" "$(num "${hi[$1|$2]}" "$3")"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'; }
pairs=("lookup c=1|echo c=1" "lookup c=16|echo c=16" "lookup c=16 shared|echo c=16"
  "batch(100) c=1|echo_bytes(batch(100)) c=1" "batch_columnar(100) c=1|echo_bytes(batch_columnar(100)) c=1"
  "stream c=1|echo_stream c=1" "stream c=16|echo_stream c=16"
  "lookup open 2000/s|echo open 2000/s"
  "predict c=1|lookup c=1" "fallback c=1|lookup c=1" "mix(10% fallback) c=1|lookup c=1"
  "predict c=32|predict c=32 unbatched")
((spin)) && pairs+=("lookup c=1 spin|echo c=1 spin")
if [[ -n "$redis_port" ]]; then
  pairs+=("lookup c=1|redis GET c=1" "stream c=16|redis GET c=16" "batch(100) c=1|redis MGET(100) c=1"
          "batch_columnar(100) c=1|redis MGET(100) c=1" "stream_batch(100) c=1|redis MGET(100) c=1"
          "resp GET c=1|redis GET c=1" "resp GET c=50|redis GET c=50" "resp MGET(100) c=1|redis MGET(100) c=1")
  ((spin)) && pairs+=("resp GET c=1 spin|redis GET c=1 spin" "lookup c=1 spin|redis GET c=1 spin")
fi
for c in "${sweep[@]}"; do
  [[ " ${pairs[*]} " == *"lookup c=$c|echo c=$c"* ]] || pairs+=("lookup c=$c|echo c=$c")
done
[[ -n "$lean_port" ]] && pairs+=("lean lookup hot c=1|echo c=1" "lean lookup hot c=1|lookup c=1"
  "big lookup hot c=1|echo c=1")
[[ -n "$big_redis_port" ]] && pairs+=("lean lookup hot c=1|redis GET hot c=1")

echo
log "results: medians over $REPEATS repeat(s) (latency in microseconds; rows=$ROWS, ${DURATION}s per case," \
  "$(nproc) CPUs shared by client and servers); max is the max, errors and wrong the sums, over the repeats"
printf '%-22s %10s %11s %9s %9s %9s %9s %9s %7s %6s %17s %15s\n' case calls/s keys/s p50 p90 p99 p99.9 max errors wrong \
  "p50 min-max" "calls/s min-max"
for name in "${names[@]}"; do
  printf '%-22s %10.0f %11.0f %9.1f %9.1f %9.1f %9.1f %9.1f %7s %6s %17s %15s\n' "$name" \
    "${med[$name|qps]}" "${med[$name|keys_per_s]}" "${med[$name|p50_us]}" "${med[$name|p90_us]}" \
    "${med[$name|p99_us]}" "${med[$name|p999_us]}" "${med[$name|max_us]}" "${med[$name|errors]}" \
    "${med[$name|wrong]}" "$(range "$name" p50_us %.1f)" "$(range "$name" qps %.0f)"
done
echo
log "ratios of the medians (predstore / echo floor at the same concurrency; models: / precomputed lookup, batched / unbatched)"
printf '%-42s %6s %6s %8s\n' "" p50 p99 calls/s
for pair in "${pairs[@]}"; do
  a=${pair%%|*} b=${pair#*|}
  printf '%-42s %6s %6s %8s\n' "$a / $b" "$(ratio "${med[$a|p50_us]}" "${med[$b|p50_us]}")" \
    "$(ratio "${med[$a|p99_us]}" "${med[$b|p99_us]}")" "$(ratio "${med[$a|qps]}" "${med[$b|qps]}")"
done

cross_median() {  # key: the median of its rounds, or "–"
  local values=${cross[$1]:-}
  [[ -n "${values// /}" ]] || { echo "–"; return; }
  tr ' ' '\n' <<<"$values" | grep -v '^$' | sort -g |
    awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
cross_md=()
for floor in "${cross_floors[@]}"; do
  floor_name=${floor%%|*}
  for wait in "${cross_waits[@]}"; do
    a=$(cross_median "$floor_name|loadgen|$wait") b=$(cross_median "$floor_name|minimal|$wait")
    c=$(cross_median "$floor_name|redis-benchmark|$wait")
    cross_md+=("| $floor_name c=1 | $wait | $a | $b | $c | $(ratio "$a" "$b") |")
  done
done
echo
log "cross-check: c=1 p50 (µs), medians of $REPEATS round(s)"
printf '%s\n' "${cross_md[@]}"

# Memory while serving, after the runs (before the profiling reruns).
rss_kib() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
server_rss_kib=$(rss_kib "$server_pid")
redis_rss_kib=0
[[ -n "$redis_pid" ]] && redis_rss_kib=$(rss_kib "$redis_pid")
lean_rss_kib=0 big_rss_kib=0 big_redis_rss_kib=0
[[ -n "$lean_pid" ]] && lean_rss_kib=$(rss_kib "$lean_pid")
[[ -n "$big_pid" ]] && big_rss_kib=$(rss_kib "$big_pid")
[[ -n "$big_redis_pid" ]] && big_redis_rss_kib=$(rss_kib "$big_redis_pid")
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
# Where a server's memory goes, from its /metrics: "<memory index> MiB
# memory index, <block cache> MiB block cache, <rest> MiB the rest" of RSS.
memory_split() {  # http-port rss-kib
  curl -s "http://127.0.0.1:$1/metrics" | awk -v rss="$2" '
    $1 == "predstore_memory_index_bytes" { index_b = $2 }
    $1 == "predstore_block_cache_usage_bytes" { cache_b = $2 }
    END { m = 1048576; printf "%.1f MiB memory index, %.1f MiB block cache, %.1f MiB the rest (code, gRPC, allocator)",
          index_b / m, cache_b / m, rss / 1024 - (index_b + cache_b) / m }'
}
server_memory=$(memory_split "$server_http_port" "$server_rss_kib")
big_memory=""
[[ -n "$big_pid" ]] && big_memory=$(memory_split "$big_http_port" "$big_rss_kib")

# ---- targets ----------------------------------------------------------------
# Issue 16's targets, then issue 5's re-judged with this harness, on the
# medians above: one markdown row each (target, measured, met / missed); a
# missed target whose figure compares two cases is profiled below.
targets16_md=()
targets_md=()
missed_pairs=()
judge() {  # table description measured-text value op limit [pair]
  local -n table=$1
  local description=$2 measured=$3 value=$4 op=$5 limit=$6 pair=${7:-} verdict
  verdict=$(awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN {
    if (v == "nan" || v == "n/a" || v == "") { print "not measured"; exit }
    ok = (op == "<=") ? (v + 0 <= l + 0) : (op == ">=") ? (v + 0 >= l + 0) : (v + 0 > l + 0)
    print ok ? "met" : "**missed**" }')
  table+=("| $description | $measured | $verdict |")
  if [[ "$verdict" == "**missed**" && -n "$pair" && " ${missed_pairs[*]} " != *" $pair "* ]]; then
    missed_pairs+=("$pair")
  fi
  return 0
}
have_case() { [[ -v "case_target[$1]" ]]; }
ratio_of() { ratio "${med[$1|$3]}" "${med[$2|$3]}"; }
judge_pair() {  # table description a b key op limit: the ratio a / b of key
  local r
  r=$(ratio_of "$3" "$4" "$5")
  judge "$1" "$2" "${r}x" "$r" "$6" "$7" "$3|$4"
}
t=targets16_md
if [[ -n "$redis_port" ]]; then
  ((spin)) && judge_pair $t "RESP GET c=1: p50 ≤ 1.15 × Redis GET (spinning clients)" \
    "resp GET c=1 spin" "redis GET c=1 spin" p50_us "<=" 1.15
  judge_pair $t "RESP GET c=1: p50 ≤ 1.15 × Redis GET (sleeping clients)" "resp GET c=1" "redis GET c=1" p50_us "<=" 1.15
  judge_pair $t "RESP MGET of 100 keys c=1: keys/s ≥ 1.5 × Redis MGET" \
    "resp MGET(100) c=1" "redis MGET(100) c=1" keys_per_s ">=" 1.5
  judge_pair $t "RESP GET at 50 clients: calls/s ≥ 0.9 × Redis GET" "resp GET c=50" "redis GET c=50" qps ">=" 0.9
fi
((spin)) && judge_pair $t "Lookup c=1: p50 ≤ 1.05 × echo (spinning clients)" "lookup c=1 spin" "echo c=1 spin" \
  p50_us "<=" 1.05
judge_pair $t "Lookup c=1: p50 ≤ 1.05 × echo (sleeping clients)" "lookup c=1" "echo c=1" p50_us "<=" 1.05
have_case "lookup c=64" && judge_pair $t "Lookup c=64: calls/s ≥ 0.95 × echo" "lookup c=64" "echo c=64" qps ">=" 0.95
judge_pair $t "LookupStream c=1: calls/s ≥ 0.95 × streaming echo" "stream c=1" "echo_stream c=1" qps ">=" 0.95
if [[ -n "$redis_port" ]]; then
  judge_pair $t "BatchLookup(100) row form c=1: keys/s ≥ 1.0 × Redis MGET(100)" \
    "batch(100) c=1" "redis MGET(100) c=1" keys_per_s ">=" 1.0
  judge_pair $t "BatchLookup(100) columnar c=1: keys/s ≥ 2.0 × Redis MGET(100)" \
    "batch_columnar(100) c=1" "redis MGET(100) c=1" keys_per_s ">=" 2.0
  r=$(ratio "$redis_load_s" "$load_wall_s")
  judge $t "Bulk load of $ROWS rows from CSV, wall clock: ≥ 2.5 × redis-cli --pipe (with awk's conversion)" \
    "${load_wall_s} s vs ${redis_load_s} s: ${r}x" "$r" ">=" 2.5
  r=$(ratio "$redis_load_s" "$parquet_wall_s")
  judge $t "Bulk load of $ROWS rows from Parquet, wall clock: ≥ 4 × redis-cli --pipe" \
    "${parquet_wall_s} s vs ${redis_load_s} s: ${r}x" "$r" ">=" 4
  r=$(ratio "$server_rss_kib" "$redis_rss_kib")
  judge $t "Memory, $ROWS rows, default flags: RSS ≤ 0.6 × Redis's" "${r}x" "$r" "<=" 0.6
fi
if [[ -n "$big_redis_port" ]]; then
  r=$(ratio "$big_rss_kib" "$big_redis_rss_kib")
  judge $t "Memory, $MEMORY_ROWS rows, default flags: RSS ≤ 0.5 × Redis's" "${r}x" "$r" "<=" 0.5
  r=$(ratio "$lean_rss_kib" "$big_redis_rss_kib")
  judge $t "Memory, $MEMORY_ROWS rows, lean (\`--memory_index_mb=0\`): RSS ≤ 0.1 × Redis's" "${r}x" "$r" "<=" 0.1
fi
if [[ -n "$lean_port" ]]; then
  judge_pair $t "Hot-set lookups at $MEMORY_ROWS rows, lean: p50 ≤ 1.05 × echo" "lean lookup hot c=1" "echo c=1" \
    p50_us "<=" 1.05
  judge_pair $t "Hot-set lookups at $MEMORY_ROWS rows, default flags: p50 ≤ 1.05 × echo" "big lookup hot c=1" \
    "echo c=1" p50_us "<=" 1.05
fi

t=targets_md
((spin)) && judge_pair $t "Lookup c=1: p50 ≤ 1.10 × echo (spinning clients)" "lookup c=1 spin" "echo c=1 spin" \
  p50_us "<=" 1.10
judge_pair $t "Lookup c=1: p50 ≤ 1.10 × echo" "lookup c=1" "echo c=1" p50_us "<=" 1.10
judge_pair $t "Lookup c=1: p99 ≤ 1.25 × echo" "lookup c=1" "echo c=1" p99_us "<=" 1.25
have_case "lookup c=64" && judge_pair $t "Lookup c=64: calls/s ≥ 0.9 × echo" "lookup c=64" "echo c=64" qps ">=" 0.9
judge_pair $t "LookupStream c=1: p50 ≤ 1.10 × streaming echo" "stream c=1" "echo_stream c=1" p50_us "<=" 1.10
judge_pair $t "LookupStream c=16: calls/s ≥ 0.9 × streaming echo" "stream c=16" "echo_stream c=16" qps ">=" 0.9
if [[ -n "$redis_port" ]]; then
  r=$(ratio_of "stream c=16" "redis GET c=50" qps)
  judge $t "Stretch: LookupStream c=16 calls/s > Redis GET c=50" "${r}x" "$r" ">" 1.0
  best="" best_r=0
  for form in "batch(100) c=1" "batch_columnar(100) c=1" "stream_batch(100) c=1"; do
    r=$(ratio_of "$form" "redis MGET(100) c=1" keys_per_s)
    awk -v a="$r" -v b="$best_r" 'BEGIN { exit !(a + 0 > b + 0) }' && best=$form best_r=$r
  done
  judge $t "BatchLookup of 100 keys c=1: keys/s ≥ 1.0 × Redis MGET(100)" "${best_r}x (best form: ${best})" \
    "$best_r" ">=" 1.0
  r=$(ratio "$redis_load_s" "$load_wall_s")
  judge $t "Bulk load ($ROWS rows): rows/s ≥ 2.5 × redis-cli --pipe (both by wall clock)" "${r}x" "$r" ">=" 2.5
fi
if [[ -n "$big_redis_port" ]]; then
  r=$(ratio "$lean_rss_kib" "$big_redis_rss_kib")
  judge $t "Memory ($MEMORY_ROWS rows): RSS ≤ 0.3 × Redis's" "${r}x" "$r" "<=" 0.3
fi
if [[ -n "$lean_port" ]]; then
  judge_pair $t "Memory ($MEMORY_ROWS rows, data on disk, hot set cached): lookup p99 ≤ 1.25 × echo" \
    "lean lookup hot c=1" "echo c=1" p99_us "<=" 1.25
fi
predict_limit=$(awk -v e="${med[echo c=1|p50_us]}" -v s="$scorer_us" 'BEGIN { printf "%.1f", e + 1.5 * s }')
judge $t "Predict c=1: p50 ≤ echo p50 + 1.5 × one-row scoring in process (${scorer_us} µs)" \
  "$(num "${med[predict c=1|p50_us]}" %.1f) µs vs $predict_limit µs" "${med[predict c=1|p50_us]}" "<=" "$predict_limit" \
  "predict c=1|echo c=1"
echo
log "targets$( ((short)) && printf ' -- short mode: smoke figures, not the targets conditions')"
printf '%s\n' "${targets16_md[@]}" "${targets_md[@]}"

# ---- profiles of the missed targets -----------------------------------------
# Each case of a missed pair runs once more for $PROFILE_S s while perf
# counts its server's CPU time and context switches (per call) and samples
# where that CPU goes, by library. Needs perf (Debian: linux-perf).
PROFILE_S=${PROFILE_S:-$( ((short)) && echo 1 || echo 3)}
profile_md=()
profile_case() {  # name: one markdown row
  local name=$1 kind pid port flags qps cpu_ms switches dsos
  kind=${case_target[$name]}
  pid=$(pid_of_target "$kind") port=$(port_of_target "$kind")
  read -ra flags <<<"${case_flags[$name]}"
  "$loadgen_bin" --target="127.0.0.1:$port" --label="$name" --duration_s="$((PROFILE_S + 1))" --warmup_s=0.5 \
    --rows="$ROWS" --json "${flags[@]}" >"$work/profile.json" 2>/dev/null &
  local loadgen=$!
  sleep 1
  # A profile is a diagnosis, not a result: if perf fails, the row says n/a
  # and the run goes on.
  rm -f "$work/perf.stat" "$work/perf.data"
  perf stat -x, -e task-clock,context-switches -p "$pid" -o "$work/perf.stat" -- \
    perf record -q -F 499 -p "$pid" -o "$work/perf.data" -- sleep "$PROFILE_S" >/dev/null 2>&1 ||
    echo "run_bench.sh: perf failed while profiling '$name'; its row says n/a" >&2
  wait "$loadgen" || true
  qps=$(sed -n 's/.*"qps":\([0-9.eE+-]*\).*/\1/p' "$work/profile.json" 2>/dev/null || true)
  cpu_ms=$(awk -F, '$3 == "task-clock" { print $1 }' "$work/perf.stat" 2>/dev/null || true)
  switches=$(awk -F, '$3 == "context-switches" { print $1 }' "$work/perf.stat" 2>/dev/null || true)
  dsos=$({ perf report -i "$work/perf.data" --sort dso --stdio 2>/dev/null || true; } | grep -v '^#' | grep '%' |
    awk 'NR <= 5 { printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }' || true)
  profile_md+=("| $name | $(awk -v c="$cpu_ms" -v q="$qps" -v s="$PROFILE_S" 'BEGIN {
      if (q + 0 > 0 && c != "") printf "%.1f", c * 1000 / (q * s); else printf "n/a" }') |\
 $(awk -v n="$switches" -v q="$qps" -v s="$PROFILE_S" 'BEGIN {
      if (q + 0 > 0 && n != "") printf "%.2f", n / (q * s); else printf "n/a" }') | ${dsos:-n/a} |")
}
profile_note=""
if ((${#missed_pairs[@]} == 0)); then
  profile_note="No target with a floor case was missed: nothing to profile."
elif ! command -v perf >/dev/null 2>&1 || ! perf stat -e task-clock -o /dev/null -- true >/dev/null 2>&1; then
  profile_note="perf is missing or cannot run here (Debian package linux-perf; perf_event_paranoid): no profiles."
else
  declare -A profiled
  for pair in "${missed_pairs[@]}"; do
    for name in "${pair%%|*}" "${pair#*|}"; do
      [[ -v "profiled[$name]" ]] && continue
      profiled[$name]=1
      log "profiling '$name' for ${PROFILE_S}s (perf)"
      profile_case "$name"
    done
  done
  rm -f "$work/perf.data" "$work/perf.data.old"
fi

# ---- plots ------------------------------------------------------------------
mkdir -p "$out_dir"
{
  echo "# concurrency lookup_median lookup_min lookup_max echo_median echo_min echo_max (calls/s)"
  for c in "${sweep[@]}"; do
    echo "$c ${med[lookup c=$c|qps]} ${lo[lookup c=$c|qps]} ${hi[lookup c=$c|qps]}" \
      "${med[echo c=$c|qps]} ${lo[echo c=$c|qps]} ${hi[echo c=$c|qps]}"
  done
} >"$work/throughput.dat"
plots=""
if command -v gnuplot >/dev/null 2>&1; then
  {
    echo "set terminal pngcairo size 1200,800 font ',10'"
    echo "set output '$out_dir/latency_cdf.png'"
    echo "set title 'Latency CDF per case (last of $REPEATS repeat(s), ${DURATION}s each; rows=$ROWS; dashed: echo floor)'"
    echo "set xlabel 'latency (µs, log scale)'; set ylabel 'percentile'; set logscale x; set grid"
    echo "set yrange [0:100]; set key outside right top"
    echo "set termoption noenhanced"
    # A predstore case and its echo floor share a colour (echo dashed).
    palette=('#1f77b4' '#d62728' '#2ca02c' '#9467bd' '#ff7f0e' '#8c564b' '#e377c2' '#17becf' '#7f7f7f' '#bcbd22' '#000000')
    declare -A colour_of
    colours=0
    printf 'plot'
    sep=""
    for name in "${names[@]}"; do
      partner=$(sed 's/^echo_//; s/^echo /lookup /' <<<"$name")
      if [[ ! -v "colour_of[$partner]" ]]; then
        colour_of[$partner]=${palette[colours % ${#palette[@]}]}
        colours=$((colours + 1))
      fi
      dash=1
      [[ "$name" == echo* ]] && dash=2
      printf "%s '%s' using 1:(\$2*100) with lines lw 2 dt %s lc rgb '%s' title '%s'" "$sep" \
        "$work/cdf/$(slug "$name").dat" "$dash" "${colour_of[$partner]}" "$name"
      sep=", \\"$'\n'
    done
    echo
    echo "set output '$out_dir/throughput.png'"
    echo "unset logscale; set logscale x 2; set autoscale; set yrange [0:*]; set key inside left top"
    echo "set xrange [0.8:${sweep[-1]} * 1.25]"
    echo "set title 'Throughput vs concurrency (median over $REPEATS repeat(s), bars: min-max; one channel per caller)'"
    echo "set xlabel 'concurrency (closed-loop callers)'; set ylabel 'calls/s'; set xtics (${sweep[*]/%/,})"
    echo "plot '$work/throughput.dat' using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'lookup (predstore)', \\"
    echo "     '' using 1:5:6:7 with yerrorlines lw 2 pt 5 dt 2 title 'echo (floor)'"
  } >"$work/plots.gp"
  sed -i 's/set xtics (\(.*\),)$/set xtics (\1)/; s/, )/)/' "$work/plots.gp"
  if gnuplot "$work/plots.gp" 2>"$work/gnuplot.err"; then
    plots=yes
    log "plots: $out_dir/latency_cdf.png, $out_dir/throughput.png"
  else
    echo "run_bench.sh: gnuplot failed; no plots:" >&2
    cat "$work/gnuplot.err" >&2
  fi
else
  echo "run_bench.sh: gnuplot not found; skipping the plots" >&2
fi

# ---- RESULTS.md -------------------------------------------------------------
version_of() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
{
  echo "# predstore end-to-end benchmark"
  echo
  echo "Written by \`bench/run_bench.sh$( ((short)) && printf ' --short')\` on $(date -u '+%Y-%m-%d %H:%M UTC')," \
    "at commit $commit. Rerun that command to reproduce."
  echo
  echo "## Machine and versions"
  echo
  echo "- CPUs: $(nproc) ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))," \
    "shared by the load generator and both servers"
  echo "- Memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- Compiler: $(g++ --version 2>/dev/null | head -1); build type $build_type"
  echo "- gRPC (libgrpc++-dev): $(version_of libgrpc++-dev); RocksDB (librocksdb-dev): $(version_of librocksdb-dev)"
  echo
  echo "## Parameters"
  echo
  echo "ROWS=$ROWS, DURATION=${DURATION} s measured per case and repeat, WARMUP=${WARMUP} s, REPEATS=$REPEATS."
  echo "Closed loop: each caller has one call in flight; one channel (TCP connection) per caller," \
    "except 'shared' (one channel for all). The $REPEATS repeat(s) run round-robin over the" \
    "${#names[@]} cases. Concurrency sweep: c = ${sweep[*]}."
  echo "Callers sleep until each answer arrives, as most clients do, except in the 'spin' cases:" \
    "there the caller polls for its answer (\`predstore-loadgen --wait=spin\`), so that no wake-up of the" \
    "client is added to the server's latency. On this machine a client's wake-up costs tens of µs" \
    "(see the cross-check below), which a sleeping client adds to every call, on both sides of each ratio."
  echo
  echo "## Loader"
  echo
  echo "Both sides are timed by the wall clock of their processes, from the same CSV file."
  echo
  echo "- predstore-load from CSV: ${load_wall_s} s (${load_rows_per_s:-?} rows/s), peak RSS" \
    "$(awk -v k="${peak_rss_kib:-0}" 'BEGIN { printf "%.1f MiB", k / 1024 }') (measured by $rss_method)." \
    "Its own line: \`$load_line\`"
  echo "- predstore-load from Parquet (the same rows, written by \`predstore-load sample --out=*.parquet\`):" \
    "${parquet_wall_s} s (${parquet_rows_per_s} rows/s)."
  if [[ -n "$redis_port" ]]; then
    echo "- Redis, the same CSV converted by awk and piped into \`redis-cli --pipe\`: ${redis_load_s} s" \
      "(${redis_rows_per_s} rows/s). Redis / predstore time: CSV $(ratio "$redis_load_s" "$load_wall_s")x," \
      "Parquet $(ratio "$redis_load_s" "$parquet_wall_s")x."
  fi
  echo
  echo "## Memory while serving (after the runs)"
  echo
  if [[ -n "$redis_port" ]]; then
    echo "- $ROWS rows, the default server (memory index on): predstore-server RSS $(mib "$server_rss_kib");" \
      "redis-server RSS $(mib "$redis_rss_kib"); predstore / Redis: $(ratio "$server_rss_kib" "$redis_rss_kib")x."
  fi
  echo "  - predstore-server's RSS by its metrics: $server_memory."
  if [[ -n "$lean_port" ]]; then
    big_redis_text=""
    [[ -n "$big_redis_port" ]] && big_redis_text="; redis-server with the same rows RSS $(mib "$big_redis_rss_kib");\
 predstore / Redis: $(ratio "$lean_rss_kib" "$big_redis_rss_kib")x"
    echo "- $MEMORY_ROWS rows, the lean server (\`--memory_index_mb=0\`: data on disk, 256 MiB block cache):" \
      "predstore-server RSS $(mib "$lean_rss_kib")$big_redis_text. The 'hot' cases ask for keys of $HOT_ROWS rows" \
      "spread over the table (\`predstore-loadgen --hot_rows\`), after $MEMORY_WARM_S s of columnar batches on them" \
      "warmed the lean server's block cache."
    echo "- The same $MEMORY_ROWS rows, a server with default flags: RSS $(mib "$big_rss_kib")$(
      [[ -n "$big_redis_port" ]] && printf '; predstore / Redis: %sx' "$(ratio "$big_rss_kib" "$big_redis_rss_kib")")."
    echo "  - by its metrics: $big_memory."
  else
    echo "- Memory at scale skipped (MEMORY_ROWS=0)."
  fi
  echo
  echo "## Results"
  echo
  echo "Medians over the repeats; latency in µs; max is the max and errors/wrong the sums over the repeats."
  echo
  echo "| case | calls/s | keys/s | p50 | p90 | p99 | p99.9 | max | errors | wrong | p50 min–max | calls/s min–max |"
  echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  for name in "${names[@]}"; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" \
      "$(num "${med[$name|qps]}" %.0f)" "$(num "${med[$name|keys_per_s]}" %.0f)" "$(num "${med[$name|p50_us]}" %.1f)" \
      "$(num "${med[$name|p90_us]}" %.1f)" "$(num "${med[$name|p99_us]}" %.1f)" "$(num "${med[$name|p999_us]}" %.1f)" \
      "$(num "${med[$name|max_us]}" %.1f)" "${med[$name|errors]}" "${med[$name|wrong]}" \
      "$(range "$name" p50_us %.1f)" "$(range "$name" qps %.0f)"
  done
  echo
  echo "## Harness cross-check"
  echo
  echo "Each c=1 floor measured by three clients that share no code, side by side in $REPEATS round(s):" \
    "\`predstore-loadgen\` (the harness above), \`predstore-bench-minimal\` (gRPC's generic stub with" \
    "the request serialized once; a raw socket for RESP) and Debian's \`redis-benchmark\` (RESP only;" \
    "it always sleeps). p50 in µs, medians of the rounds; the last column is loadgen / minimal."
  echo
  echo "| floor | client waits by | predstore-loadgen | minimal client | redis-benchmark | loadgen / minimal |"
  echo "|---|---|--:|--:|--:|--:|"
  printf '%s\n' "${cross_md[@]}"
  echo
  echo "## Ratios"
  echo
  echo "predstore / echo floor at the same concurrency (and predstore / Redis), from the medians." \
    "Models: on-demand Predict and fallback / precomputed lookup; batched / unbatched Predict at c=32" \
    "(a $MODEL_TREES-tree depth-6 XGBoost model over 30 features)."
  echo
  echo "| pair | p50 | p99 | calls/s |"
  echo "|---|--:|--:|--:|"
  for pair in "${pairs[@]}"; do
    a=${pair%%|*} b=${pair#*|}
    echo "| $a / $b | $(ratio "${med[$a|p50_us]}" "${med[$b|p50_us]}") | $(ratio "${med[$a|p99_us]}" "${med[$b|p99_us]}")" \
      "| $(ratio "${med[$a|qps]}" "${med[$b|qps]}") |"
  done
  echo
  echo "## Targets"
  echo
  if ((short)); then echo "Short mode: smoke figures on small data, not the targets' conditions."; echo; fi
  echo "### Issue 16: faster than Redis"
  echo
  echo "| target | measured | result |"
  echo "|---|---|---|"
  printf '%s\n' "${targets16_md[@]}"
  echo
  echo "### Issue 5's targets, re-judged with this harness"
  echo
  echo "| target | measured | result |"
  echo "|---|---|---|"
  printf '%s\n' "${targets_md[@]}"
  echo
  echo "## Where the time goes in the missed targets"
  echo
  if [[ -n "$profile_note" ]]; then
    echo "$profile_note"
  else
    echo "Each case of a missed comparison, rerun for ${PROFILE_S} s while \`perf stat\` and \`perf record\` watch" \
      "its server: CPU time and context switches per call, and the five libraries with most CPU samples" \
      "(share of the server's samples; [kernel.kallsyms] is the kernel: sockets, scheduling, futexes)." \
      "Client and servers share the $(nproc) CPUs, so each call's latency is at least the CPU of both ends."
    echo
    echo "| case | server CPU µs per call | context switches per call | CPU by library |"
    echo "|---|--:|--:|---|"
    printf '%s\n' "${profile_md[@]}"
  fi
  echo
  echo "## Plots"
  echo
  if [[ -n "$plots" ]]; then
    echo "- [Latency CDF per case](latency_cdf.png) (the last repeat of each case)"
    echo "- [Throughput vs concurrency](throughput.png) (lookup and echo, medians with min–max bars)"
  else
    echo "Not drawn: gnuplot was missing or failed."
  fi
} >"$out_dir/RESULTS.md"
log "report: $out_dir/RESULTS.md"

# ---- 6. stop (the EXIT trap) ------------------------------------------------
if ((failed)); then
  echo "run_bench.sh: some cases had failed calls or wrong answers (see above)" >&2
  exit 1
fi
