#!/bin/sh
# Owns: the one command of a sharded index build, the same under every scheduler: shard I of N of
# $CORPUS into $SHARDS_DIR/shard-I-of-N.kidx (resumable: rerunning a failed task continues it).
#   Kubernetes Indexed Job:  deploy/kmed-shard.sh "$JOB_COMPLETION_INDEX" 8   (deploy/kmed-index-job.yaml)
#   GNU parallel:            seq 0 7 | parallel -j 8 deploy/kmed-shard.sh {} 8
#   Slurm array:             sbatch --array=0-7 --wrap 'deploy/kmed-shard.sh "$SLURM_ARRAY_TASK_ID" 8'
# then once:                 kmed merge "$SHARDS_DIR"/shard-*-of-8.kidx --out index.kidx
# Environment: CORPUS, SHARDS_DIR (required); KMED (default "npx kmed"); KMED_ARGS (more flags,
# e.g. "--question-model DIR --context-model DIR --dtype int8 --threads 2").
set -eu
if [ "$#" -ne 2 ]; then
  echo "usage: $0 SHARD_INDEX SHARD_COUNT (CORPUS and SHARDS_DIR in the environment)" >&2
  exit 2
fi
: "${CORPUS:?set CORPUS to the corpus file}"
: "${SHARDS_DIR:?set SHARDS_DIR to the folder for shard files}"
mkdir -p "$SHARDS_DIR"
# shellcheck disable=SC2086 # KMED and KMED_ARGS are word lists on purpose
exec ${KMED:-npx kmed} index --corpus "$CORPUS" --out "$SHARDS_DIR/shard-$1-of-$2.kidx" --shard "$1/$2" ${KMED_ARGS:-}
