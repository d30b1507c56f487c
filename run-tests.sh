#!/usr/bin/env bash
# Builds everything (tests and benchmarks included) and runs the whole test
# suite with ctest. Warnings are errors when CI=true.
# Usage: ./run-tests.sh [ctest args...]   (BUILD_DIR=build)
set -euo pipefail
cd "$(dirname "$0")"
build=${BUILD_DIR:-build}
werror=OFF
if [ "${CI:-}" = "true" ]; then werror=ON; fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPREDSTORE_WERROR="$werror"
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
