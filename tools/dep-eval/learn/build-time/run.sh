#!/usr/bin/env bash
# Build time and dependency count of a tiny crate depending on one learner library each.
# Each build starts from an empty target dir: `cargo build --release -j2`, wall time.
# Usage: tools/dep-eval/learn/build-time/run.sh [scratch-dir]   (default /tmp/dep-eval-bt)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scratch="${1:-/tmp/dep-eval-bt}"
for name in linfa-linear linfa-logistic perpetual prudentia-learn; do
  dir="$here/$name"
  target="$scratch/$name"
  rm -rf "$target"
  (cd "$dir" && cargo fetch -q)
  start=$(date +%s.%N)
  # perpetual uses #![feature(array_ptr_get)]: stable rustc refuses it without this
  (cd "$dir" && RUSTC_BOOTSTRAP=perpetual CARGO_TARGET_DIR="$target" cargo build --release -j2 -q)
  end=$(date +%s.%N)
  # the count the issue asks for (a crate seen twice counts once more, with its " (*)")
  lines=$(cd "$dir" && cargo tree -e normal --prefix none | sort -u | wc -l)
  # distinct crate versions, the probe crate itself not counted
  crates=$(cd "$dir" && cargo tree -e normal --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
  printf '%s\twall %.1f s\ttree lines %s\tdistinct crates %s\n' "$name" "$(echo "$end - $start" | bc)" "$lines" "$((crates - 1))"
  rm -rf "$target"
done
