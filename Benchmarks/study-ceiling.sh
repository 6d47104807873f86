#!/usr/bin/env bash
# Where a study's time goes, and how fast it could be at coarser fidelity: the winter raid's
# replications per second on one thread, and canopy's own stage times of one run, for
#   as-is      the scenario as shipped;
#   no-clutter the same with no radar clutter (the radars' clutterPerScan set to 0 in a catalogue
#              section written from the shipped catalogue): no false tracks, no false plots;
#   cycle-4    no clutter, and the battle manager's decision cycle at 4 s instead of 2.
# The variants change the model: their outcomes differ (the script prints value protected and the
# interceptor cost), and they are measured here only to show what the goal of 20 replications a
# second on two cores would take. Usage: Benchmarks/study-ceiling.sh [SCENARIO]; RUNS (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-examples/winter-raid.yaml}
runs=${RUNS:-8}
swift build -c release --product canopy >/dev/null
bin=$(swift build -c release --show-bin-path 2>/dev/null)/canopy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=$(cd "$(dirname "$scenario")" && pwd)

# The shipped radar types without their sources, clutter off.
radars=$(awk '/^sensors:/ { s = 1; next } s && /^  - name: acoustic-node/ { exit }
              s && /^    sources:/ { skip = 1; next } s && skip && /^      / { next } { skip = 0 }
              s' Sources/CanopyScenario/Resources/catalogue.yaml | sed 's/clutterPerScan: .*/clutterPerScan: 0/')
# Written beside the scenario's folder's files (a regions file named relatively stays found).
noclutter="$dir/.canopy-ceiling-noclutter-$$.yaml"
cycle4="$dir/.canopy-ceiling-cycle4-$$.yaml"
trap 'rm -rf "$work" "$noclutter" "$cycle4"' EXIT
awk -v block="catalogue:
  sensors:
$radars" '/^assets:/ && !done { print block; done = 1 } { print }' "$scenario" > "$noclutter"
sed 's/^\(  cycle:\) *[0-9.]*/\1 4/' "$noclutter" > "$cycle4"
grep -q '^  cycle: 4' "$cycle4" || { echo "the scenario has no doctrine.cycle line to change" >&2; exit 1; }

for v in as-is no-clutter cycle-4; do
  case $v in as-is) f=$scenario ;; no-clutter) f=$noclutter ;; cycle-4) f=$cycle4 ;; esac
  "$bin" study "$f" --runs "$runs" --threads 1 --out "$work/$v" >"$work/$v.txt" 2>"$work/$v.log"
  rate=$(sed -n 's/.*: \([0-9.]*\) replications\/s$/\1/p' "$work/$v.log")
  value=$(sed -n 's/^value protected: *\(.*\) of value at risk/\1/p' "$work/$v.txt")
  cost=$(grep -m1 '^total' "$work/$v.txt" | awk '{ print $(NF - 2), $(NF - 1), $NF }')
  stages=$("$bin" simulate "$f" --out "$work/$v-sim" 2>&1 | grep -o 'stages: .*' || true)
  cycles=$("$bin" simulate "$f" --out "$work/$v-sim" 2>&1 | sed -n 's/.*(\([0-9]*\) cycles).*/\1/p' || true)
  echo "$v: $rate replications/s on 1 thread ($runs replications); value protected $value; interceptors: $cost"
  echo "    one run: $stages; $cycles decision cycles"
done
