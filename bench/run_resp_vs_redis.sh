#!/usr/bin/env bash
# predstore's Redis-protocol front end against redis-server, side by side,
# driven by the same independent client: redis-benchmark (Debian's).
#
# Both hold the same $ROWS rows: table `bench` (key id int64, values
# forecast and p90) in predstore, and the strings "t:%012d" -> "forecast,p90"
# in Redis, whose bytes are what predstore's GET answers. redis-benchmark's
# __rand_int__ is a 12-digit zero-padded number, which is the Redis key
# as is and parses to the same id in predstore, so every GET hits on both.
# Per repetition, round robin: GET at 1 client (p50), GET at 50 clients
# (calls/s), MGET of 100 keys at 1 client (keys/s), each for $REQUESTS
# requests (MGET: a tenth), first against Redis, then against predstore.
# Also: resident memory of each after loading, and load wall-clock time.
# Prints each run, the medians and the ratios.
#
# Usage: bench/run_resp_vs_redis.sh [--short]   (--short: 20k rows, 1 repetition)
#   BUILD_DIR (default build), ROWS (1000000), REQUESTS (100000), REPS (3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
rows=${ROWS:-1000000} requests=${REQUESTS:-100000} reps=${REPS:-3}
if [[ "${1:-}" == "--short" ]]; then rows=20000; requests=5000; reps=1; fi
# shellcheck source=bench/bench_common.sh
source "$root/bench/bench_common.sh"
bench_scratch predstore-resp-bench

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "== data: $rows rows in $work"
awk -v n="$rows" 'BEGIN {
  print "id,forecast,p90"
  for (i = 0; i < n; i++) { f = (i * 37 % 100000) / 100; printf "%d,%.2f,%.2f\n", i, f, f * 1.25 }
}' > "$work/rows.csv"
# Redis's load input: SET commands in RESP, the value as predstore prints it
# (shortest text of the double; these have at most two decimals).
awk -F, 'NR > 1 {
  key = sprintf("t:%012d", $1); value = ($2 + 0) "," ($3 + 0)
  printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(key), key, length(value), value
}' "$work/rows.csv" > "$work/redis.resp"

resp_port=$(free_port)
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  > "$work/redis.log" 2>&1 &
pids+=($!)
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done

start=$(date +%s.%N)
"$build/loader/predstore-load" load --data_dir="$work/data" --table=bench --keys=id:int64 \
  --values=forecast:double,p90:double "$work/rows.csv" > /dev/null
predstore_load_s=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
redis-cli -p "$redis_port" --pipe < "$work/redis.resp" > "$work/redis-pipe.log"
redis_load_s=$(echo "$(date +%s.%N) - $start" | bc)
grep -q "errors: 0" "$work/redis-pipe.log" || { cat "$work/redis-pipe.log"; exit 1; }

"$build/server/predstore-server" --data_dir="$work/data" --listen=127.0.0.1:0 \
  --resp_listen="127.0.0.1:$resp_port" --resp_tables=table=bench,prefix=t --port_file="$work/port" \
  > "$work/server.log" 2>&1 &
pids+=($!)
server_pid=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
[[ -s "$work/port" ]] || { cat "$work/server.log"; exit 1; }

# Every key answers alike on both before anything is timed.
for id in 0 1 $((rows / 2)) $((rows - 1)); do
  key=$(printf "t:%012d" "$id")
  a=$(redis-cli -p "$redis_port" GET "$key")
  b=$(redis-cli -p "$resp_port" GET "$key")
  [[ "$a" == "$b" && -n "$a" ]] || { echo "GET $key: redis '$a', predstore '$b'"; exit 1; }
done
echo "== resident memory after loading: redis-server $(rss_mb "$redis_pid") MiB, predstore-server $(rss_mb "$server_pid") MiB"
echo "== load wall clock from the same CSV: predstore-load ${predstore_load_s}s, redis-cli --pipe ${redis_load_s}s (plus awk's conversion to RESP, not counted)"

mget="MGET"
for _ in $(seq 100); do mget="$mget t:__rand_int__"; done
# One redis-benchmark run: prints "<requests/s> <p50 ms>".
bench() {  # port clients requests command...
  local port=$1 clients=$2 n=$3
  shift 3
  redis-benchmark -h 127.0.0.1 -p "$port" -c "$clients" -n "$n" -r "$rows" --csv "$@" 2>/dev/null |
    awk -F'"' 'NR == 2 {print $4, $10}'
}
declare -A results
for rep in $(seq "$reps"); do
  for server in redis predstore; do
    port=$redis_port
    [[ $server == predstore ]] && port=$resp_port
    read -r rps p50 < <(bench "$port" 1 "$requests" GET t:__rand_int__)
    results[$server,get1_p50]+="$p50 "
    results[$server,get1_rps]+="$rps "
    read -r rps p50 < <(bench "$port" 50 "$requests" GET t:__rand_int__)
    results[$server,get50_rps]+="$rps "
    read -r rps p50 < <(bench "$port" 1 $((requests / 10)) $mget)
    results[$server,mget_keys]+="$(echo "$rps * 100" | bc) "
    last() { echo "${results[$server,$1]}" | awk '{print $NF}'; }
    echo "run $rep $server: GET c=1 p50 $(last get1_p50) ms, $(last get1_rps) calls/s; GET c=50 $(last get50_rps) calls/s;" \
      "MGET(100) c=1 $(last mget_keys) keys/s"
  done
done
m() { echo "${results[$1,$2]}" | tr ' ' '\n' | grep -v '^$' | median; }
echo "medians:"
printf "  %-26s %14s %14s %8s\n" case redis predstore ratio
for case in get1_p50 get1_rps get50_rps mget_keys; do
  r=$(m redis $case) p=$(m predstore $case)
  printf "  %-26s %14s %14s %8.2f\n" "$case" "$r" "$p" "$(echo "$p / $r" | bc -l)"
done
echo "(get1_p50 in ms, lower is better: ratio = predstore / redis; the others are per second, higher is better)"
