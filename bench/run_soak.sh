#!/usr/bin/env bash
# Soak: one predstore-server under mixed traffic for a long time, to show
# that nothing leaks or drifts. Open-loop predstore-loadgen runs, back to
# back in windows of WINDOW_S, send at once:
#   - single-key Lookups (verified against the sample),
#   - BatchLookups of 100 keys (verified),
#   - Scans of a box of rows,
#   - Predict calls to the registered model,
#   - Ingest batches into a second table (acks verified),
# while the table is re-published every SWAP_S (a new version each time,
# the same rows, so lookups stay verifiable) and the model's Production
# version alternates between 1 and 2 every PROMOTE_S (the server re-reads
# the registry on SIGHUP, sent after each promotion).
# Every second it samples the server's RSS and open files, and from its
# /metrics where the memory is: the C heap's allocated bytes and the free
# bytes it holds, the memory indexes, the block cache and the ingested
# table's stream memtables.
#
# Output, in $OUT_DIR (default: $BUILD_DIR/soak):
#   soak.md           per window and kind: calls/s, p50, p99, errors,
#                     wrong answers; RSS and open files; the verdict
#   latency_p99.png   p99 per kind over time; swaps and promotions marked
#   resources.png     RSS and its parts (MiB), and open files, over time
#
# The verdict fails (exit 1) on any failed call or wrong answer, a swap or
# promotion that failed or that the server does not serve at the end, or
# growth between the second and the last fifth
# of the run of more than RSS_GROWTH_MIB (default 64) of median RSS,
# HEAP_GROWTH_MIB (default 32) of median heap bytes allocated (a leak), or
# FD_GROWTH (default 8) open files. The first fifth is warm-up (caches,
# arenas) and is not judged.
#
# Usage: bench/run_soak.sh [--short]
#   --short: 60 s, 5 s windows, swaps every 10 s, promotions every 15 s
#   (CI's variant). Otherwise DURATION_S (600), WINDOW_S (10), SWAP_S (30),
#   PROMOTE_S (45), ROWS (200000), BUILD_DIR (build), OUT_DIR,
#   STREAM_MEMTABLE_MB (16; the server's --stream_memtable_mb, smaller than
#   its default 64 so that the ingested stream's memtable fills and is
#   written out within a 10-minute run, showing where memory levels off).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_common.sh"
build=${BUILD_DIR:-$root/build}
duration=${DURATION_S:-600} window=${WINDOW_S:-10} swap_every=${SWAP_S:-30} promote_every=${PROMOTE_S:-45}
rows=${ROWS:-200000} stream_memtable_mb=${STREAM_MEMTABLE_MB:-16}
rss_growth_mib=${RSS_GROWTH_MIB:-64} heap_growth_mib=${HEAP_GROWTH_MIB:-32} fd_growth=${FD_GROWTH:-8}
if [[ "${1:-}" == "--short" ]]; then
  duration=60 window=5 swap_every=10 promote_every=15
  shift
fi
if (($# > 0)); then
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
fi
out_dir=${OUT_DIR:-$build/soak}
cmake --build "$build" --target predstore-server predstore-load predstore-loadgen predstore-cli >/dev/null
load_bin="$build/loader/predstore-load" server_bin="$build/server/predstore-server"
loadgen_bin="$build/bench/predstore-loadgen"
bench_scratch predstore-soak
log() { echo "== $*"; }

"$load_bin" sample --rows="$rows" --out="$work/sample.csv" >/dev/null
load_table() {  # table: publishes a new version of it from the sample
  "$load_bin" load --data_dir="$work/data" --table="$1" --keys=store_id:int64,item_id:int64,horizon_days:int64 \
    --values=forecast:double,p90:double "$work/sample.csv" >"$work/load.out" 2>&1
}
load_table forecasts
load_table streamed
register() {  # version stage: trains and registers a sample model version
  "$load_bin" sample-model --out="$work/model-v$1" --features=30 --trees=50 --depth=6 --seed="$1" \
    --registry="$work/mlruns" --name=soak --version="$1" --stage="$2" >"$work/register.out" 2>&1
}
set_stage() {  # version stage: as MLflow's client does, in the version's meta.yaml (atomically)
  local meta="$work/mlruns/models/soak/version-$1/meta.yaml"
  sed "s/^current_stage: .*/current_stage: $2/" "$meta" >"$meta.tmp" && mv "$meta.tmp" "$meta"
}
register 1 Production
register 2 Staging
"$server_bin" --data_dir="$work/data" --listen=127.0.0.1:0 --port_file="$work/port" --ingest \
  --model_registry="$work/mlruns" --stream_memtable_mb="$stream_memtable_mb" --http_listen=127.0.0.1:0 --http_port_file="$work/http_port" 2>"$work/server.log" &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 200); do [[ -s "$work/port" && -s "$work/http_port" ]] && break; sleep 0.05; done
[[ -s "$work/port" && -s "$work/http_port" ]] || { echo "run_soak.sh: the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
target="127.0.0.1:$(cat "$work/port")"
metrics_url="http://127.0.0.1:$(cat "$work/http_port")/metrics"
# Bytes of: C heap allocated, C heap free held, memory indexes, block cache,
# stream memtables (one line; 0 for a scrape that failed).
memory_split() {
  curl -s --max-time 2 "$metrics_url" | awk '
    $1 == "predstore_heap_allocated_bytes" { a = $2 } $1 == "predstore_heap_free_held_bytes" { f = $2 }
    $1 == "predstore_memory_index_bytes" { m = $2 } $1 == "predstore_block_cache_usage_bytes" { b = $2 }
    $1 ~ /^predstore_stream_memtable_bytes[{]/ { s += $2 }
    END { printf "%d %d %d %d %d\n", a, f, m, b, s }'
}
log "server pid $server_pid on $target; $rows rows; ${duration}s in ${window}s windows; swap every ${swap_every}s," \
  "promotion every ${promote_every}s"

# kind: loadgen flags. Rates are well under this machine's capacity, so
# that latency over time shows drift, not saturation.
declare -A kinds=(
  [lookup]="--mode=lookup --concurrency=2 --rate=1000"
  [batch]="--mode=batch --batch=100 --concurrency=1 --rate=100"
  [scan]="--mode=scan --concurrency=1 --rate=20"
  [predict]="--mode=predict --model=models:/soak/Production --concurrency=1 --rate=100"
  [ingest]="--mode=ingest --table=streamed --batch=10 --concurrency=1 --rate=50"
)
kind_names=(lookup batch scan predict ingest)
start=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) - $start" | bc -l; }
mkdir -p "$work/windows"
traffic() {  # kind: runs windows until the soak's end; one JSON line each
  local kind=$1 flags
  read -ra flags <<<"${kinds[$kind]}"
  while (($(echo "$(elapsed) + $window <= $duration" | bc -l))); do
    local at
    at=$(elapsed)
    if "$loadgen_bin" --target="$target" --rows="$rows" --duration_s="$window" --warmup_s=0 --json "${flags[@]}" \
      >"$work/windows/$kind.out" 2>"$work/windows/$kind.err"; then :; fi
    local line
    line=$(grep '^{' "$work/windows/$kind.out" | tail -1 || true)
    if [[ -z "$line" ]]; then
      line='{"qps":0,"p50_us":0,"p99_us":0,"errors":1,"wrong":0,"failed_to_run":true}'
      sed 's/^/  /' "$work/windows/$kind.err" >&2
    fi
    echo "$at $line" >>"$work/windows/$kind.jsonl"
  done
}
for kind in "${kind_names[@]}"; do
  traffic "$kind" &
  pids+=("$!")
done

# Swaps and promotions, and the resource samples, until the end.
events_failed=0 swaps=0 promotions=0 production=1
next_swap=$swap_every next_promote=$promote_every
: >"$work/events.dat"
: >"$work/resources.dat"
while :; do
  now=$(elapsed)
  (($(echo "$now >= $duration" | bc -l))) && break
  rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0)
  fds=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  echo "$now $rss_kib $fds $(memory_split)" >>"$work/resources.dat"
  if (($(echo "$now >= $next_swap" | bc -l))); then
    if load_table forecasts; then
      swaps=$((swaps + 1))
      echo "$now swap" >>"$work/events.dat"
    else
      events_failed=$((events_failed + 1))
      echo "run_soak.sh: a swap failed:" >&2
      cat "$work/load.out" >&2
    fi
    next_swap=$(echo "$next_swap + $swap_every" | bc -l)
  fi
  if (($(echo "$now >= $next_promote" | bc -l))); then
    # Alternate: the other version becomes Production, this one Archived.
    other=$((3 - production))
    if set_stage "$other" Production && set_stage "$production" Archived && kill -HUP "$server_pid"; then
      production=$other
      promotions=$((promotions + 1))
      echo "$now promote-v$production" >>"$work/events.dat"
    else
      events_failed=$((events_failed + 1))
      echo "run_soak.sh: a promotion failed" >&2
    fi
    next_promote=$(echo "$next_promote + $promote_every" | bc -l)
  fi
  sleep 1
done
for pid in "${pids[@]:1}"; do wait "$pid" || true; done
kill -0 "$server_pid" 2>/dev/null || { echo "run_soak.sh: the server died:" >&2; tail -20 "$work/server.log" >&2; exit 1; }
# The server ends up serving the last swap and the last promotion (it
# looks for both within a few seconds).
cli=("$build/client/predstore-cli" --server="$target")
want_version=$((swaps + 1)) serving_version="" serving_model=""
for _ in $(seq 50); do
  serving_version=$("${cli[@]}" tables | python3 -c 'import json, sys
print(next(j["active_version"] for j in map(json.loads, sys.stdin) if j["table"] == "forecasts"))' || true)
  serving_model=$("${cli[@]}" models | python3 -c 'import json, sys
print(next((j["version"] for j in map(json.loads, sys.stdin) if "Production" in j["serves"].split(",")), ""))' || true)
  [[ "$serving_version" == "$want_version" && "$serving_model" == "$production" ]] && break
  sleep 0.1
done
if [[ "$serving_version" != "$want_version" ]]; then
  echo "run_soak.sh: the server serves version '$serving_version' of forecasts after $swaps swaps (want $want_version)" >&2
  events_failed=$((events_failed + 1))
fi
if [[ "$serving_model" != "$production" ]]; then
  echo "run_soak.sh: the server's Production model is version '$serving_model', the registry's $production" >&2
  events_failed=$((events_failed + 1))
fi
log "serving version $serving_version of forecasts and model version $serving_model as Production"

# ---- report -----------------------------------------------------------------
mkdir -p "$out_dir"
python3 - "$work" "$out_dir" "$duration" "$rss_growth_mib" "$heap_growth_mib" "$fd_growth" "$swaps" "$promotions" \
  "$events_failed" "${kind_names[@]}" <<'REPORT'
import json, statistics, sys
work, out_dir = sys.argv[1], sys.argv[2]
duration, rss_growth_mib, heap_growth_mib, fd_growth = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
swaps, promotions, events_failed = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
kinds = sys.argv[10:]
windows = {}
for kind in kinds:
    rows = []
    try:
        for line in open(f"{work}/windows/{kind}.jsonl"):
            at, _, text = line.partition(" ")
            rows.append((float(at), json.loads(text)))
    except FileNotFoundError:
        pass
    windows[kind] = rows
    with open(f"{work}/{kind}.dat", "w") as dat:
        for at, j in rows:
            dat.write(f"{at:.1f} {j['p99_us'] / 1000:.3f} {j['p50_us'] / 1000:.3f}\n")
# at, RSS KiB, open files, then bytes: heap allocated, heap free held,
# memory indexes, block cache, stream memtables.
samples = [tuple(float(x) for x in line.split()) for line in open(f"{work}/resources.dat")]
MIB = 1 << 20
with open(f"{work}/resources_mib.dat", "w") as dat:
    for at, rss, fds, heap, held, index, cache, memtables in samples:
        dat.write(f"{at:.1f} {rss / 1024:.1f} {fds:.0f} {heap / MIB:.1f} {held / MIB:.1f} {index / MIB:.1f} "
                  f"{cache / MIB:.1f} {memtables / MIB:.1f}\n")

def fifth(k):  # samples of the k-th fifth of the run (0-based)
    return [s for s in samples if k * duration / 5 <= s[0] < (k + 1) * duration / 5]
early, late = fifth(1), fifth(4)
problems = []
failed = sum(j["errors"] for rows in windows.values() for _, j in rows)
wrong = sum(j["wrong"] for rows in windows.values() for _, j in rows)
calls = sum(j.get("calls", 0) for rows in windows.values() for _, j in rows)
if failed: problems.append(f"{failed} failed calls")
if wrong: problems.append(f"{wrong} wrong answers")
if events_failed: problems.append(f"{events_failed} failed swaps or promotions")
if any(not rows for rows in windows.values()): problems.append("a kind of traffic ran no window")
rss_delta = fd_delta = heap_delta = None
def median_of(rows, column, scale):
    return statistics.median(s[column] for s in rows) / scale
if early and late:
    rss_delta = median_of(late, 1, 1024) - median_of(early, 1, 1024)
    heap_delta = median_of(late, 3, MIB) - median_of(early, 3, MIB)
    fd_delta = median_of(late, 2, 1) - median_of(early, 2, 1)
    if rss_delta > rss_growth_mib: problems.append(f"RSS grew {rss_delta:.1f} MiB (> {rss_growth_mib:.0f})")
    if heap_delta > heap_growth_mib: problems.append(f"heap allocated grew {heap_delta:.1f} MiB (> {heap_growth_mib:.0f})")
    if fd_delta > fd_growth: problems.append(f"open files grew by {fd_delta:.0f} (> {fd_growth})")
    if any(s[3] == 0 for s in samples): problems.append("a /metrics scrape failed")
else:
    problems.append("too few resource samples to judge drift")

out = []
out.append(f"# Soak: {duration:.0f} s, {calls} calls, {swaps} swaps, {promotions} promotions\n")
out.append("Per window (start s): calls/s, p50 / p99 ms, failed, wrong.\n")
out.append("| kind | windows | calls/s (median) | p50 ms: first, median, last | p99 ms: first, median, max, last | failed | wrong |")
out.append("| --- | --: | --: | --- | --- | --: | --: |")
for kind in kinds:
    rows = [j for _, j in windows[kind]]
    if not rows:
        out.append(f"| {kind} | 0 | – | – | – | – | – |")
        continue
    p50 = [j["p50_us"] / 1000 for j in rows]
    p99 = [j["p99_us"] / 1000 for j in rows]
    out.append(f"| {kind} | {len(rows)} | {statistics.median(j['qps'] for j in rows):.0f} | "
               f"{p50[0]:.2f}, {statistics.median(p50):.2f}, {p50[-1]:.2f} | "
               f"{p99[0]:.2f}, {statistics.median(p99):.2f}, {max(p99):.2f}, {p99[-1]:.2f} | "
               f"{sum(j['errors'] for j in rows)} | {sum(j['wrong'] for j in rows)} |")
out.append("")
if early and late:
    out.append("Server memory (MiB) and open files, median of each fifth of the run; growth is the last fifth "
               "minus the second (the first is warm-up).\n")
    out.append("| | " + " | ".join(f"fifth {k + 1}" for k in range(5)) + " | growth | limit | peak |")
    out.append("| --- |" + " --: |" * 8)
    for name, column, scale, limit in (("RSS", 1, 1024, f"{rss_growth_mib:.0f}"),
                                       ("C heap allocated", 3, MIB, f"{heap_growth_mib:.0f}"),
                                       ("C heap free held", 4, MIB, "–"), ("memory indexes", 5, MIB, "–"),
                                       ("block cache", 6, MIB, "–"), ("stream memtables", 7, MIB, "–"),
                                       ("open files", 2, 1, f"{fd_growth}")):
        fifths = [fifth(k) for k in range(5)]
        cells = [f"{median_of(rows, column, scale):.1f}" if rows else "–" for rows in fifths]
        growth = median_of(late, column, scale) - median_of(early, column, scale)
        out.append(f"| {name} | " + " | ".join(cells) + f" | {growth:+.1f} | {limit} | {max(s[column] for s in samples) / scale:.1f} |")
out.append("")
out.append("Verdict: " + ("**pass**" if not problems else "**FAIL**: " + "; ".join(problems)))
text = "\n".join(out) + "\n"
open(f"{out_dir}/soak.md", "w").write(text)
print(text, end="")
open(f"{work}/verdict", "w").write("pass" if not problems else "fail")
REPORT

# gnuplot arrows marking the swaps (dashed) and promotions (dotted).
event_marks() {  # colour
  local at what dash
  while read -r at what; do
    dash=2
    [[ "$what" == promote* ]] && dash=3
    echo "set arrow from $at, graph 0 to $at, graph 1 nohead dt $dash lc rgb '$1'"
  done <"$work/events.dat"
}
if command -v gnuplot >/dev/null 2>&1; then
  {
    echo "set terminal pngcairo size 1200,600 font ',10'"
    echo "set xlabel 'seconds'; set grid; set key outside right top"
    echo "set output '$out_dir/latency_p99.png'"
    echo "set title 'p99 per window and kind (open loop); dashed: swaps, dotted: promotions'"
    echo "set ylabel 'p99 (ms, log scale)'; set logscale y"
    event_marks '#999999'
    printf 'plot'
    sep=""
    for kind in "${kind_names[@]}"; do
      printf "%s '%s' using 1:2 with linespoints lw 2 title '%s'" "$sep" "$work/$kind.dat" "$kind"
      sep=", \\"$'\n'
    done
    echo
    echo "unset arrow; unset logscale y"
    echo "set output '$out_dir/resources.png'"
    echo "set title 'Server resident memory, where it is, and open files; dashed: swaps, dotted: promotions'"
    echo "set ylabel 'MiB'; set y2label 'open files'; set ytics nomirror; set y2tics; set yrange [0:*]; set y2range [0:*]"
    event_marks '#cccccc'
    echo "plot '$work/resources_mib.dat' using 1:2 with lines lw 2 title 'RSS', '' using 1:4 with lines lw 2 title 'C heap allocated', \\"
    echo "  '' using 1:5 with lines lw 2 title 'C heap free held', '' using 1:6 with lines lw 2 title 'memory indexes', \\"
    echo "  '' using 1:7 with lines lw 2 title 'block cache', '' using 1:8 with lines lw 2 title 'stream memtables', \\"
    echo "  '' using 1:3 axes x1y2 with lines lw 1 dt 2 title 'open files'"
  } >"$work/plots.gp"
  if gnuplot "$work/plots.gp" 2>"$work/gnuplot.err"; then
    log "plots: $out_dir/latency_p99.png, $out_dir/resources.png"
  else
    echo "run_soak.sh: gnuplot failed; no plots:" >&2
    cat "$work/gnuplot.err" >&2
  fi
else
  echo "run_soak.sh: gnuplot not found; no plots" >&2
fi
log "report: $out_dir/soak.md"
[[ "$(cat "$work/verdict")" == pass ]]
