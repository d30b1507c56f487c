#!/usr/bin/env bash
# End-to-end benchmark of predstore, side by side with a trivial gRPC echo
# server as the latency floor, all in one run on this machine:
#   1. builds predstore-server, predstore-load, predstore-bench-echo and
#      predstore-loadgen in $BUILD_DIR;
#   2. writes a sample of $ROWS rows and loads it, printing the loader's
#      rows/s and peak RSS;
#   3. starts predstore-server and the echo server on free ports;
#   4. runs predstore-loadgen against each in turn for $DURATION seconds;
#   5. prints a table and the lookup/echo latency ratios;
#   6. stops the servers (also on error or Ctrl-C).
#
# Usage: bench/run_bench.sh [--short]
#   --short            ROWS=20000 DURATION=1 WARMUP=0.5 (CI: keeps the suite from rotting)
# Environment (each overrides the mode's default):
#   BUILD_DIR   build folder, relative to the repository root or absolute (default: build)
#   ROWS        sample rows (default 1000000)
#   DURATION    measured seconds per case (default 5)
#   WARMUP      unrecorded seconds before each case (default 1)
#   JOBS        parallel build jobs (default: nproc)
#   JSON_OUT    if set, the loadgen JSON lines are appended to this file
#   KEEP_WORK=1 keep the temporary folder (sample, data, logs)
# Exit status: 0 when every case ran with no failed call and no wrong
# answer; 1 otherwise (the table is still printed, unless a server died
# mid-run: then its exit status and log are); 2 on bad usage.
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
  ROWS=${ROWS:-20000} DURATION=${DURATION:-1} WARMUP=${WARMUP:-0.5}
else
  ROWS=${ROWS:-1000000} DURATION=${DURATION:-5} WARMUP=${WARMUP:-1}
fi
JOBS=${JOBS:-$(nproc)}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-build}
[[ "$build" = /* ]] || build="$root/$build"

log() { printf '== %s\n' "$*"; }

# ---- cleanup: stop what we started, remove the work folder ----------------
work=""
server_pid=""
echo_pid=""
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
  stop_process "$server_pid" predstore-server
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
log "building in $build with -j$JOBS"
cmake --build "$build" -j "$JOBS" --target predstore-server predstore-load predstore-bench-echo predstore-loadgen \
  >"$build/run_bench_build.log" 2>&1 || { tail -50 "$build/run_bench_build.log" >&2; exit 1; }
server_bin="$build/server/predstore-server"
load_bin="$build/loader/predstore-load"
echo_bin="$build/bench/predstore-bench-echo"
loadgen_bin="$build/bench/predstore-loadgen"

work=$(mktemp -d "${TMPDIR:-/tmp}/predstore-bench.XXXXXX")
log "rows=$ROWS duration=${DURATION}s warmup=${WARMUP}s build=$build_type cpus=$(nproc) work=$work"

# ---- 2. sample and load -----------------------------------------------------
"$load_bin" sample --rows="$ROWS" --out="$work/sample.csv" >/dev/null
log "sample: $ROWS rows, $(du -h "$work/sample.csv" | cut -f1) of CSV"

# shellcheck disable=SC2054  # the commas are inside flag values
load_args=(load --data_dir="$work/data" --table=forecasts
  --keys=store_id:int64,item_id:int64,horizon_days:int64 --values=forecast:double,p90:double "$work/sample.csv")
peak_rss_kib=""
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
load_line=$(grep 'published version' "$work/load.out" || true)
load_rows_per_s=$(sed -n 's/.*(\([0-9]*\) rows\/s).*/\1/p' <<<"$load_line")
log "loader: $load_line"
log "loader: ${load_rows_per_s:-?} rows/s, peak RSS $(awk -v k="${peak_rss_kib:-0}" 'BEGIN { printf "%.1f MiB", k / 1024 }') [measured by $rss_method]"

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

"$server_bin" --data_dir="$work/data" --listen=127.0.0.1:0 --port_file="$work/server.port" \
  --shutdown_grace_ms=1000 2>"$work/server.log" &
server_pid=$!
"$echo_bin" --listen=127.0.0.1:0 --port_file="$work/echo.port" 2>"$work/echo.log" &
echo_pid=$!
server_port=$(wait_for_port_file "$work/server.port" "$server_pid" predstore-server "$work/server.log")
echo_port=$(wait_for_port_file "$work/echo.port" "$echo_pid" predstore-bench-echo "$work/echo.log")
log "predstore-server on 127.0.0.1:$server_port (pid $server_pid), echo on 127.0.0.1:$echo_port (pid $echo_pid)"

# ---- 4. load generation -----------------------------------------------------
names=()
declare -A json
failed=0
run_case() {  # name target loadgen-flags...
  local name=$1 target=$2
  shift 2
  local out rc=0
  out=$("$loadgen_bin" --target="$target" --label="$name" --duration_s="$DURATION" --warmup_s="$WARMUP" \
    --rows="$ROWS" --json "$@" 2>"$work/loadgen.err") || rc=$?
  grep -v '^{' <<<"$out" | sed 's/^/   /' || true
  if ((rc != 0)); then
    failed=1
    echo "run_bench.sh: case '$name' exited with status $rc:" >&2
    sed 's/^/   /' "$work/loadgen.err" >&2
  fi
  local entry pid what logname
  for entry in "$server_pid predstore-server server" "$echo_pid predstore-bench-echo echo"; do
    read -r pid what logname <<<"$entry"
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" && rc=0 || rc=$?
      echo "run_bench.sh: $what (pid $pid) died during case '$name' with status $rc; its log:" >&2
      cat "$work/$logname.log" >&2 || true
      exit 1
    fi
  done
  names+=("$name")
  json[$name]=$(grep '^{' <<<"$out" || echo '{}')
  if [[ -n "${JSON_OUT:-}" ]]; then echo "${json[$name]}" >>"$JSON_OUT"; fi
}
server="127.0.0.1:$server_port"
echo="127.0.0.1:$echo_port"
log "loadgen: closed loop, ${DURATION}s per case after ${WARMUP}s warm-up; one channel (TCP connection) per caller"
run_case "echo c=1" "$echo" --mode=echo --concurrency=1
run_case "lookup c=1" "$server" --mode=lookup --concurrency=1
run_case "echo c=16" "$echo" --mode=echo --concurrency=16
run_case "lookup c=16" "$server" --mode=lookup --concurrency=16
run_case "lookup c=16 shared" "$server" --mode=lookup --concurrency=16 --channels=shared
run_case "echo_batch(100) c=1" "$echo" --mode=echo_batch --batch=100 --concurrency=1
run_case "batch(100) c=1" "$server" --mode=batch --batch=100 --concurrency=1
run_case "echo_stream c=1" "$echo" --mode=echo_stream --concurrency=1
run_case "stream c=1" "$server" --mode=stream --concurrency=1
run_case "echo_stream c=16" "$echo" --mode=echo_stream --concurrency=16
run_case "stream c=16" "$server" --mode=stream --concurrency=16

# ---- 5. results -------------------------------------------------------------
field() {  # case key
  local value
  value=$(sed -n 's/.*"'"$2"'":\(-\{0,1\}[0-9.eE+-]*\).*/\1/p' <<<"${json[$1]}")
  echo "${value:-nan}"
}
echo
log "results (latency in microseconds; rows=$ROWS, ${DURATION}s per case, $(nproc) CPUs shared by client and servers)"
printf '%-22s %10s %11s %9s %9s %9s %9s %9s %7s %6s\n' case calls/s keys/s p50 p90 p99 p99.9 max errors wrong
for name in "${names[@]}"; do
  printf '%-22s %10.0f %11.0f %9.1f %9.1f %9.1f %9.1f %9.1f %7s %6s\n' "$name" \
    "$(field "$name" qps)" "$(field "$name" keys_per_s)" "$(field "$name" p50_us)" "$(field "$name" p90_us)" \
    "$(field "$name" p99_us)" "$(field "$name" p999_us)" "$(field "$name" max_us)" \
    "$(field "$name" errors)" "$(field "$name" wrong)"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'; }
echo
log "ratios (predstore / echo floor, same concurrency)"
printf '%-42s %6s %6s %8s\n' "" p50 p99 calls/s
for pair in "lookup c=1|echo c=1" "lookup c=16|echo c=16" "lookup c=16 shared|echo c=16" \
  "batch(100) c=1|echo_batch(100) c=1" "stream c=1|echo_stream c=1" "stream c=16|echo_stream c=16"; do
  a=${pair%%|*} b=${pair#*|}
  printf '%-42s %6s %6s %8s\n' "$a / $b" "$(ratio "$(field "$a" p50_us)" "$(field "$b" p50_us)")" \
    "$(ratio "$(field "$a" p99_us)" "$(field "$b" p99_us)")" "$(ratio "$(field "$a" qps)" "$(field "$b" qps)")"
done

# ---- 6. stop (the EXIT trap) ------------------------------------------------
if ((failed)); then
  echo "run_bench.sh: some cases had failed calls or wrong answers (see above)" >&2
  exit 1
fi
