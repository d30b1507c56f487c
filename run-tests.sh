#!/usr/bin/env bash
# Builds everything (tests and benchmarks included) and runs the whole test
# suite with ctest. Warnings are errors when CI=true. BUILD_ONLY=1 stops
# after the build.
# Usage: ./run-tests.sh [ctest args...]   (BUILD_DIR=build)
set -euo pipefail
cd "$(dirname "$0")"
build=${BUILD_DIR:-build}
werror=OFF
if [ "${CI:-}" = "true" ]; then werror=ON; fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPREDSTORE_WERROR="$werror" \
  -DPREDSTORE_BUILD_TESTS=ON -DPREDSTORE_BUILD_BENCH=ON
cmake --build "$build" -j"$(nproc)"
if [ "${BUILD_ONLY:-}" = "1" ]; then exit 0; fi
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
