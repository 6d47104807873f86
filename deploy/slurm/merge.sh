#!/bin/bash
# Merges the partials of a Canopy study (submit.sh runs it once every array task has ended; run it
# again by hand after resubmitting a failed shard).
#   sbatch merge.sh OUTDIR SHARDS
#SBATCH --job-name=canopy-merge
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
#SBATCH --output=canopy-merge-%j.log
set -euo pipefail
outdir=${1:?output directory}
shards=${2:?number of shards}
canopy=${CANOPY:-canopy}
exec "$canopy" merge "$outdir"/partial-*-of-"$shards".json --out "$outdir"
