#!/usr/bin/env bash
# Study speed: replications per second of a raid's study on 1 and on 2 threads, and the scaling.
# Usage: Benchmarks/study.sh [SCENARIO] (default examples/winter-raid.yaml); RUNS (default 8),
# REPEAT (default 2) and MODEL (looks, the default, or events) from the environment. Each measurement alternates 1 and 2 threads, so a
# shared machine's drift falls on both; the study files of the two thread counts must be identical.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-examples/winter-raid.yaml}
runs=${RUNS:-8}
repeat=${REPEAT:-2}
model=${MODEL:-looks}
swift build -c release --product canopy >/dev/null
bin=$(swift build -c release --show-bin-path 2>/dev/null)/canopy
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rate() { sed -n 's/.*: \([0-9.]*\) replications\/s$/\1/p' "$1"; }
for k in $(seq 1 "$repeat"); do
  for t in 1 2; do
    "$bin" study "$scenario" --runs "$runs" --threads "$t" --model "$model" --out "$out/t$t" 2>"$out/log$t" >/dev/null
  done
  r1=$(rate "$out/log1"); r2=$(rate "$out/log2")
  if cmp -s "$out/t1/study.json" "$out/t2/study.json"; then same="identical"; else same="DIFFERENT"; fi
  echo "$scenario ($model), $runs replications: 1 thread $r1/s, 2 threads $r2/s, scaling $(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.2f", b / a }')x; study.json on 1 and 2 threads $same"
done
