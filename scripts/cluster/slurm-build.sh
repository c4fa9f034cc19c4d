#!/bin/bash
# A Slurm job array that builds one corpus in shards: task K of N runs `lhindex build ... --shard K/N`,
# all writing into one output directory on a file system every node sees (NFS, Lustre, ...: one that
# supports flock across nodes). Together the tasks make the same corpus as one `lhindex build`.
#
#   sbatch [--array=1-N] scripts/cluster/slurm-build.sh CORPUS OUT [build options...]
#
# Set: --array to 1-N for N shards (task K builds shard K, N is the number of tasks), --cpus-per-task to
# the cores one build should use, LHINDEX to the binary if it is not on PATH, and LHINDEX_MODEL (or
# -m MODEL among the build options) to a model every node can read; sbatch passes the submitting
# shell's environment to the tasks. To rerun one failed task K alone, give N in SHARDS:
# `SHARDS=N sbatch --array=K ...` (a shard resumes its interrupted documents and skips current ones).
#SBATCH --job-name=lhindex-build
#SBATCH --array=1-3
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --output=lhindex-build-%A_%a.out
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: sbatch [--array=1-N] $0 CORPUS OUT [build options...]" >&2; exit 64; fi
corpus=$1 out=$2
shift 2
: "${SLURM_ARRAY_TASK_ID:?not a job array task: submit with sbatch --array=1-N}"
shard=$((SLURM_ARRAY_TASK_ID))
count=${SHARDS:-$SLURM_ARRAY_TASK_COUNT}
echo "task $SLURM_ARRAY_JOB_ID.$SLURM_ARRAY_TASK_ID on $(hostname): shard $shard/$count of $corpus into $out"
exec "${LHINDEX:-lhindex}" build "$corpus" -o "$out" --shard "$shard/$count" "$@"
