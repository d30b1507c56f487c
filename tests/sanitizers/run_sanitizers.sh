#!/usr/bin/env bash
# The sanitizer pass: builds the project again, in build-asan/, with
# AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer,
# and runs the whole ctest suite under them, unit and end-to-end (the
# end-to-end tests start the instrumented server and loader).
# (ThreadSanitizer for the concurrency tests is still to come.)
# A report fails the stage: one written to a file (log_path), or one in
# the ctest log. Reports abort the process (-fno-sanitize-recover), so a
# report in a server an end-to-end test started fails that test too.
# Suppressions (tests/sanitizers/lsan.supp) name third-party code only,
# each with the reason.
# Usage: tests/sanitizers/run_sanitizers.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here="$root/tests/sanitizers"
if (($# > 0)); then sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; fi
jobs=$(nproc)
reports=$(mktemp -d /tmp/predstore-sanitizers.XXXXXX)
trap 'rm -rf "$reports"' EXIT
failed=0

# Warnings are judged by the normal build (-Werror in CI): instrumented code
# makes GCC warn of values "maybe uninitialized" that are not.
build="$root/build-asan"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREDSTORE_SANITIZE=address,undefined \
  -DPREDSTORE_BUILD_TESTS=ON -DPREDSTORE_BUILD_BENCH=OFF -DPREDSTORE_WERROR=OFF >/dev/null
echo "== building $build (-fsanitize=address,undefined)"
if ! cmake --build "$build" -j"$jobs" >"$reports/build.log" 2>&1; then
  grep -E "error|Error" "$reports/build.log" | head -40
  echo "run_sanitizers: the build in $build failed" >&2
  exit 1
fi

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
  local pattern="runtime error:|ERROR: (Address|Leak)Sanitizer"
  grep -q -E "$pattern" "$1" || return 0
  grep -n -E "$pattern" "$1" | head -20 || true
  echo "== sanitizer reports in the tests' output (above)"
  return 1
}

echo "== ctest under ASan+UBSan"
# A small quarantine of freed memory (default 256 MiB): the tests that bound
# the server's memory measure its RSS, which the quarantine would fill. Use
# after free is still caught within the last 8 MiB freed.
if ! ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:quarantine_size_mb=8:thread_local_quarantine_size_kb=256" \
  LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
  ctest --test-dir "$build" -j"$jobs" --output-on-failure --timeout 600 >"$reports/ctest.log" 2>&1; then
  grep -E "tests passed|Failed|\*\*\*" "$reports/ctest.log" | tail -30
  failed=1
else
  grep "tests passed" "$reports/ctest.log"
fi
check_reports asan || failed=1
check_reports ubsan || failed=1
grep_reports "$reports/ctest.log" || failed=1
exit "$failed"
