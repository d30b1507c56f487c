#!/usr/bin/env bash
# The quick-start job: builds predstore, generates a sample prediction file,
# loads it as a snapshot, starts the server on a free loopback port, answers
# lookups and a range scan through the CLI, serves a registered model's stages
# (Predict, a fallback for a missing key, a promotion), streams events by
# event time (latest and as-of lookups), publishes and rolls back a second
# version, stops.
# Usage: ./demo.sh [ROWS]   (default 100000; BUILD_DIR=build)
set -euo pipefail
cd "$(dirname "$0")"
rows=${1:-100000}
build=${BUILD_DIR:-build}

echo "== building (cmake, Release) into $build/"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPREDSTORE_BUILD_TESTS=ON -DPREDSTORE_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target predstore-server predstore-load predstore-cli
load="$build/loader/predstore-load"
server="$build/server/predstore-server"
cli="$build/client/predstore-cli"

work=$(mktemp -d -t predstore-demo.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo
echo "== 1. a batch job's output: $rows precomputed demand forecasts"
"$load" sample --rows="$rows" --out="$work/forecasts.csv"
head -4 "$work/forecasts.csv"

echo
echo "== 2. load it as snapshot version 1 (validate, z-order sort, SST, publish)"
"$load" load --data_dir="$work/data" --table=forecasts \
  --keys=store_id:int64,item_id:int64,horizon_days:int64 --values=forecast:double,p90:double \
  "$work/forecasts.csv"

echo
echo "== 2b. a registered model (MLflow file-store registry): version 1 in Production, version 2 in Staging"
"$load" sample-model --out="$work/models/demand-v1" --features=5 --trees=50 --objective=reg:squarederror --seed=1 \
  --registry="$work/mlruns" --name=demand --version=1 --stage=Production
"$load" sample-model --out="$work/models/demand-v2" --features=5 --trees=50 --objective=reg:squarederror --seed=2 \
  --registry="$work/mlruns" --name=demand --version=2 --stage=Staging --aliases=challenger

echo
echo "== 3. start predstore-server on a free loopback port, serving the table and every staged model;"
echo "      lookups that miss fall back to scoring models:/demand/Production"
"$server" --data_dir="$work/data" --listen=127.0.0.1:0 --port_file="$work/port" \
  --model_registry="$work/mlruns" --fallback='table=forecasts,model=models:/demand/Production,output=forecast' \
  --ingest 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 200); do
  [ -s "$work/port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.05
done
[ -s "$work/port" ] || { echo "server did not start"; cat "$work/server.log"; exit 1; }
target="127.0.0.1:$(cat "$work/port")"
echo "serving on $target"
"$cli" --server="$target" tables --output=table

echo
echo "== 4. lookups through predstore-cli"
"$cli" --server="$target" lookup --table=forecasts store_id=1 item_id=1000 horizon_days=1
echo "-- a key with no stored forecast, from the store only (--no_fallback): found=false"
"$cli" --server="$target" lookup --table=forecasts store_id=1 item_id=1000 horizon_days=99 --no_fallback
printf 'store_id,item_id,horizon_days\n1,1000,2\n2,1499,14\n3,1250,7\n' >"$work/keys.csv"
"$cli" --server="$target" batch-lookup --table=forecasts --keys="$work/keys.csv" --output=table
echo "-- a range scan over a box of the key columns (z-order jumps; statistics on stderr)"
"$cli" --server="$target" scan --table=forecasts --where='store_id between 1 and 3' \
  --where='item_id = 1000' --where='horizon_days <= 2' --stats --output=table

echo
echo "== 4b. models: every stage answers side by side, each answer names its version"
"$cli" --server="$target" models --output=table
"$cli" --server="$target" predict --model=models:/demand/Production f0=0.5 f1=-1.2 f2=0.3 f3=2.0 f4=-0.7
"$cli" --server="$target" predict --model=models:/demand/Staging f0=0.5 f1=-1.2 f2=0.3 f3=2.0 f4=-0.7
echo "-- a key with no stored forecast, scored on demand from just-in-time features (source: computed)"
"$cli" --server="$target" lookup --table=forecasts store_id=9999 item_id=1 horizon_days=1 \
  --features=f0=0.5,f1=-1.2,f2=0.3,f3=2.0,f4=-0.7
echo "-- promote version 2 to Production (as MLflow's transition-stage would), then reload"
"$load" sample-model --out="$work/models/demand-v2" --registry="$work/mlruns" --name=demand --version=2 \
  --stage=Production --aliases=challenger
"$load" sample-model --out="$work/models/demand-v1" --registry="$work/mlruns" --name=demand --version=1 --stage=Archived
"$cli" --server="$target" reload-models
"$cli" --server="$target" predict --model=models:/demand/Production f0=0.5 f1=-1.2 f2=0.3 f3=2.0 f4=-0.7
echo "-- a bad feature is rejected, naming it"
"$cli" --server="$target" predict --model=models:/demand/Production f0=0.5 f1=oops || true

echo
echo "== 4c. a stream of events for a new key, by event time: the newest wins whatever the arrival order"
now=$(date -u +%s)
{
  echo "{\"store_id\":9998,\"item_id\":1,\"horizon_days\":1,\"event_time\":$(( (now - 60) * 1000000 )),\"forecast\":12.5,\"p90\":15}"
  echo "{\"store_id\":9998,\"item_id\":1,\"horizon_days\":1,\"event_time\":$(( (now - 120) * 1000000 )),\"forecast\":11.25,\"p90\":14}"
} >"$work/events.jsonl"
"$cli" --server="$target" ingest --table=forecasts --source=demo --events="$work/events.jsonl"
"$cli" --server="$target" lookup --table=forecasts store_id=9998 item_id=1 horizon_days=1
echo "-- as of 90 seconds ago: the event in force then"
"$cli" --server="$target" lookup --table=forecasts store_id=9998 item_id=1 horizon_days=1 \
  --as_of="$(date -u -d "@$(( now - 90 ))" +%Y-%m-%dT%H:%M:%SZ)"
"$cli" --server="$target" ingest-status --table=forecasts

echo
echo "== 5. a new batch arrives: publish version 2 while serving, then roll back"
"$load" sample --rows="$rows" --seed=7 --out="$work/forecasts-v2.csv" >/dev/null
"$load" load --data_dir="$work/data" --table=forecasts --server="$target" "$work/forecasts-v2.csv"
"$cli" --server="$target" lookup --table=forecasts store_id=1 item_id=1000 horizon_days=1
"$cli" --server="$target" rollback --table=forecasts
"$cli" --server="$target" lookup --table=forecasts store_id=1 item_id=1000 horizon_days=1

echo
echo "== 6. stop (SIGTERM: health NOT_SERVING, in-flight calls finish)"
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
echo "demo finished"
