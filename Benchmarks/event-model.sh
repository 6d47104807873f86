#!/usr/bin/env bash
# The event model against the look model: the same study of a scenario under both (the same
# replications: the same raids), their answers side by side, and each one's replications per
# second. Usage: Benchmarks/event-model.sh [SCENARIO]; RUNS (default 48), THREADS (default all).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-examples/winter-raid.yaml}
runs=${RUNS:-48}
threads=${THREADS:-$(nproc)}
swift build -c release --product canopy >/dev/null
bin=$(swift build -c release --show-bin-path 2>/dev/null)/canopy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for m in looks events; do
  "$bin" study "$scenario" --runs "$runs" --threads "$threads" --model "$m" --out "$work/$m" >"$work/$m.txt" 2>"$work/$m.log"
done
echo "$scenario, $runs replications, $threads threads (mean ± 95 % CI)"
printf '%-28s %-40s %-40s\n' "" "looks" "events"
# The lines of the study table both models print, by their first words.
row() {
  local label=$1 pattern=$2
  local a b
  a=$(grep -m1 -E "$pattern" "$work/looks.txt" | sed -E "s/$pattern *//" || true)
  b=$(grep -m1 -E "$pattern" "$work/events.txt" | sed -E "s/$pattern *//" || true)
  printf '%-28s %-40s %-40s\n' "$label" "${a:0:40}" "${b:0:40}"
}
for c in drone decoy cruise supersonic-cruise aeroballistic ballistic; do
  a=$(awk -v c="$c" '$1 == c { print $(NF-4), $(NF-3), $(NF-2), $(NF-1), $NF; exit }' "$work/looks.txt")
  b=$(awk -v c="$c" '$1 == c { print $(NF-4), $(NF-3), $(NF-2), $(NF-1), $NF; exit }' "$work/events.txt")
  if [ -n "$a$b" ]; then printf '%-28s %-40s %-40s\n' "leak rate, $c" "$a" "$b"; fi
done
a=$(grep -m1 '^total' "$work/looks.txt" | awk '{ print $(NF-2), $(NF-1), $NF }')
b=$(grep -m1 '^total' "$work/events.txt" | awk '{ print $(NF-2), $(NF-1), $NF }')
printf '%-28s %-40s %-40s\n' "interceptor cost" "$a" "$b"
row "value protected" '^value protected:'
row "population protected" '^population protected:'
row "impacts warned" '^impacts warned:'
row "false-alarm region-minutes" '^false-alarm region-minutes:'
for m in looks events; do
  printf '%-6s %s\n' "$m:" "$(grep -o '[0-9.]* replications/s' "$work/$m.log")"
done
