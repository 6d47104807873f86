#!/usr/bin/env bash
# Tracking benchmark: runs `canopy track` on the public scenarios (n10, n100, n1000 from
# ../shared/data/tracking when present; n10 ships with the tests) and scores the tracks.
# Prints the tracker's own CPU time (tracking loop only, one core), detections per CPU second,
# the cost per detection as a multiple of one 6-state Kalman predict+update timed in the same
# process (least of REPEAT runs of the tracking loop, 5 by default, each followed by the Kalman
# step's timing), and the score summary (GOSPA, OSPA, CLEAR MOT, IDF1).
# PHASES=1 also prints the time of each stage of the tracker (gating, association, updates, ...) per detection.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product canopy >/dev/null
bin=$(swift build -c release --show-bin-path)/canopy
data=../shared/data/tracking
files=()
if [ -d "$data" ]; then files=("$data/n10.json" "$data/n100.json.gz" "$data/n1000.json.gz"); else files=(Tests/CanopyTrackingTests/Fixtures/n10.json.gz); fi
if command -v taskset >/dev/null; then pin="taskset -c 0"; else pin=""; fi
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  name=$(basename "$f")
  echo "== $name"
  out="/tmp/canopy-tracks-$name.json"
  /usr/bin/time -f "whole process: %e s wall, %U s user, %M KB max RSS" $pin "$bin" track "$f" --out "$out" --repeat "${REPEAT:-5}" ${CONFIG:+--config "$CONFIG"} ${PHASES:+--phases}
  "$bin" score "$f" "$out"
done
