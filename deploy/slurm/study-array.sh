#!/bin/bash
# One shard of a Canopy study, as a task of a Slurm job array (submit.sh submits it).
#   sbatch --array=0-(SHARDS-1) study-array.sh SCENARIO RUNS OUTDIR SHARDS
# (the shard count is an argument, not SLURM_ARRAY_TASK_COUNT: a failed task resubmitted alone,
# `sbatch --array=17 ...`, is an array of one task but still shard 17 of SHARDS)
#SBATCH --job-name=canopy-study
#SBATCH --cpus-per-task=2
#SBATCH --time=04:00:00
#SBATCH --output=canopy-study-%A_%a.log
set -euo pipefail
scenario=${1:?scenario file}
runs=${2:?number of replications}
outdir=${3:?output directory}
shards=${4:?number of shards}
canopy=${CANOPY:-canopy}
shard=${SLURM_ARRAY_TASK_ID:?not in a Slurm array task}
threads=${SLURM_CPUS_PER_TASK:-1}
mkdir -p "$outdir"
exec "$canopy" study "$scenario" --runs "$runs" --shard "$shard/$shards" --threads "$threads" --out "$outdir" --quiet
