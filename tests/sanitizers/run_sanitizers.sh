#!/usr/bin/env bash
# The sanitizer passes. Each builds the project again in its own folder and
# runs tests under the sanitizer; the end-to-end tests start the
# instrumented server and loader.
#   address  build-asan/: AddressSanitizer (with LeakSanitizer) and
#            UndefinedBehaviorSanitizer, the whole ctest suite.
#   thread   build-tsan/: ThreadSanitizer, the in-process concurrency
#            tests: every unit test of core, client, server and loader.
#            Among them: swaps and rollbacks under concurrent lookups,
#            promotions reloaded under concurrent scoring, stream sources
#            applying under readers and sweeps, the scoring batcher, the
#            admission queue, the metrics registry, the HTTP server's
#            threads, the client's concurrency limit.
#            Not the end-to-end tests: Debian's gRPC is not instrumented, so
#            TSan cannot see it hand requests and buffers between its threads,
#            and reports races on every call (12,953 reports with gRPC frames in
#            23 end-to-end tests). Every handler runs under libgrpc's frames, so
#            a suppression of libgrpc would hide the handlers' own races too.
# With no argument both run, address first.
# A report fails the pass: one written to a file (log_path), or one in the
# ctest log; so does a failed test. Suppressions (lsan.supp, tsan.supp)
# name third-party code only, each with the reason.
# Reports and logs go to REPORTS_DIR when set (kept), else to a temporary
# folder (removed at the end; the reports' first lines are printed).
# Usage: tests/sanitizers/run_sanitizers.sh [address|thread]...
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/sanitizers"
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
passes=("$@")
((${#passes[@]} > 0)) || passes=(address thread)
for pass in "${passes[@]}"; do [[ "$pass" == address || "$pass" == thread ]] || usage; done
jobs=$(nproc)
if [[ -n "${REPORTS_DIR:-}" ]]; then
  reports=$(mkdir -p "$REPORTS_DIR" && cd "$REPORTS_DIR" && pwd)
else
  reports=$(mktemp -d /tmp/predstore-sanitizers.XXXXXX)
  trap 'rm -rf "$reports"' EXIT
fi

# Builds one instrumented tree; warnings are judged by the normal build
# (-Werror in CI): instrumented code makes GCC warn of values "maybe
# uninitialized" that are not.
build_tree() {  # folder sanitizers [cmake args...]
  cmake -S "$root" -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREDSTORE_SANITIZE="$2" \
    -DPREDSTORE_BUILD_TESTS=ON -DPREDSTORE_BUILD_BENCH=OFF -DPREDSTORE_WERROR=OFF "${@:3}" >/dev/null
  echo "== building $1 (-fsanitize=$2)"
  if ! cmake --build "$1" -j"$jobs" >"$reports/build.log" 2>&1; then
    grep -E "error|Error" "$reports/build.log" | head -40
    echo "run_sanitizers: the build in $1 failed" >&2
    return 1
  fi
}

# Prints the reports of one sanitizer run; nonzero if there were any.
check_reports() {  # name
  local files
  files=$(find "$reports" -type f -name "$1.*" | sort)
  [[ -z "$files" ]] && { echo "== $1: no report"; return 0; }
  echo "== $1: $(wc -l <<<"$files") report file(s):"
  for file in $files; do
    echo "---- $file"
    head -80 "$file"
  done
  return 1
}

# Reports printed in a test's output; nonzero if there are any.
grep_reports() {  # ctest log
  local pattern="runtime error:|ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer"
  grep -q -E "$pattern" "$1" || return 0
  grep -n -E "$pattern" "$1" | head -20 || true
  echo "== sanitizer reports in the tests' output (above)"
  return 1
}

# Runs ctest with the given environment; prints the summary; nonzero if a
# test failed.
run_ctest() {  # build log [ctest args...]
  local build=$1 log=$2
  shift 2
  if ! ctest --test-dir "$build" -j"$jobs" --output-on-failure --timeout 900 "$@" >"$log" 2>&1; then
    grep -E "tests passed|Failed|\*\*\*" "$log" | tail -30
    return 1
  fi
  grep "tests passed" "$log"
}

address_pass() {
  build_tree "$root/build-asan" address,undefined || return 1
  echo "== ctest under ASan+UBSan"
  local failed=0
  # A small quarantine of freed memory (default 256 MiB): the tests that
  # bound the server's memory measure its RSS, which the quarantine would
  # fill. Use after free is still caught within the last 8 MiB freed.
  ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:quarantine_size_mb=8:thread_local_quarantine_size_kb=256" \
    LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
    run_ctest "$root/build-asan" "$reports/ctest-address.log" || failed=1
  check_reports asan || failed=1
  check_reports ubsan || failed=1
  grep_reports "$reports/ctest-address.log" || failed=1
  return "$failed"
}

thread_pass() {
  # The end-to-end suite is not built: it does not run here (above).
  build_tree "$root/build-tsan" thread -DPREDSTORE_BUILD_E2E_TESTS=OFF || return 1
  echo "== ctest under TSan: the unit tests of core, client, server and loader"
  local failed=0
  # Reports do not stop the process (every race of a run is listed), but
  # each makes it exit 66, which fails its test. history_size: longer
  # access histories, so that both stacks of a race are shown.
  TSAN_OPTIONS="log_path=$reports/tsan:suppressions=$here/tsan.supp:print_suppressions=0:exitcode=66:history_size=4:second_deadlock_stack=1" \
    run_ctest "$root/build-tsan" "$reports/ctest-thread.log" -R '^(core|client|server|loader)\.' || failed=1
  check_reports tsan || failed=1
  grep_reports "$reports/ctest-thread.log" || failed=1
  return "$failed"
}

failed=()
for pass in "${passes[@]}"; do
  start=$SECONDS
  "${pass}_pass" || failed+=("$pass")
  echo "== $pass pass: $((SECONDS - start)) s"
done
if ((${#failed[@]} > 0)); then
  echo "run_sanitizers: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run_sanitizers: ${passes[*]}: no report, every test passed"
