#!/bin/bash
# Submits a Canopy study to Slurm: SHARDS array tasks, then the merge once all have ended (it
# writes the results when every shard succeeded, and otherwise names the shards missing).
#   deploy/slurm/submit.sh SCENARIO RUNS SHARDS OUTDIR
set -euo pipefail
scenario=${1:?scenario file}
runs=${2:?number of replications}
shards=${3:?number of shards}
outdir=${4:?output directory}
here=$(cd "$(dirname "$0")" && pwd)
if (( shards < 1 || shards > runs )); then echo "need 1 <= SHARDS <= RUNS" >&2; exit 2; fi
array=$(sbatch --parsable --array=0-$((shards - 1)) "$here/study-array.sh" "$scenario" "$runs" "$outdir" "$shards")
merge=$(sbatch --parsable --dependency=afterany:"$array" "$here/merge.sh" "$outdir" "$shards")
echo "submitted shards as job $array and the merge as job $merge; results in $outdir"
