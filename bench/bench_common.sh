# Sourced by the bench scripts: a scratch folder in $work, and the
# processes whose pids are appended to $pids, both cleaned up on exit.
# Usage: source "$(dirname "$0")/bench_common.sh"; bench_scratch <prefix>
bench_scratch() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
