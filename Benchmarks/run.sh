#!/usr/bin/env bash
# End-to-end speed of the examples in a release build, one run each after a warm-up.
# Prints wall time, simulated seconds per wall second and the time per stage (from canopy's own report).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product canopy >/dev/null
bin=$(swift build -c release --show-bin-path)/canopy
for ex in quickstart winter-raid drone-swarm-2025; do
  "$bin" simulate "examples/$ex.yaml" --out "/tmp/canopy-bench-$ex" --quiet >/dev/null
  echo "== $ex"
  # taskset pins to one core when available (the goal is stated for one core).
  if command -v taskset >/dev/null; then pin="taskset -c 0"; else pin=""; fi
  /usr/bin/time -f "whole process: %e s wall, %U s user, %M KB max RSS" $pin "$bin" simulate "examples/$ex.yaml" --out "/tmp/canopy-bench-$ex" | tail -n 2
done
