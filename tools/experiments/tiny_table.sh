#!/usr/bin/env bash
# Train the `tiny` config once per (mixer, seed) on the CPU and summarise it.
#   tools/experiments/tiny_table.sh [SEEDS...]        (default seeds: 1337 1338 1339)
# Environment: DATA (default ../shared/data/tinyshakespeare.txt, relative to the repo root),
#   CAUSALGEN (default build/cuda-dev/tools/causalgen), RUNS (run folders, default /tmp/causalgen-runs),
#   RESULTS (default docs/results/cpu), MIXERS (default "attention max min max-avg min-avg"),
#   THREADS (default 2), TAG (file prefix, default tiny), EXTRA (more `causalgen train` flags,
#   e.g. "--pos-emb on"), SUFFIX (appended to run folder names and mixer labels, e.g. "+pos-emb"),
#   STEPS (optimizer steps, default 2000 = the tiny config's own).
# A run folder whose eval.csv already reaches step $STEPS is reused, not retrained.
# Writes $RESULTS/$TAG.csv (one row per run), $TAG.md (mean ± sd per mixer), $TAG_val_loss.svg;
# RUNDIR/full_val.txt: `causalgen eval` of the best checkpoint over the whole validation split.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
DATA="${DATA:-../shared/data/tinyshakespeare.txt}"
CAUSALGEN="${CAUSALGEN:-build/cuda-dev/tools/causalgen}"
RUNS="${RUNS:-/tmp/causalgen-runs}"
RESULTS="${RESULTS:-docs/results/cpu}"
MIXERS="${MIXERS:-attention max min max-avg min-avg}"
THREADS="${THREADS:-2}"
TAG="${TAG:-tiny}"
EXTRA="${EXTRA:-}"
SUFFIX="${SUFFIX:-}"
STEPS="${STEPS:-2000}"
SEEDS=("$@"); [ ${#SEEDS[@]} -eq 0 ] && SEEDS=(1337 1338 1339)
mkdir -p "$RUNS" "$RESULTS"
args=()
for m in $MIXERS; do
  for s in "${SEEDS[@]}"; do
    name="tiny_${m//,/_}${SUFFIX//+/_}_s$s"; dir="$RUNS/$name"
    if [ -f "$dir/eval.csv" ] && tail -n1 "$dir/eval.csv" | grep -q "^$STEPS,"; then
      echo "reuse $dir"
    else
      echo "$(date -u +%T) train $m seed $s -> $dir"
      start=$(date +%s.%N)
      "$CAUSALGEN" train --data "$DATA" --config tiny --max-iters "$STEPS" --mixer "$m" --seed "$s" \
          --threads "$THREADS" --out "$dir" --no-live $EXTRA > "$RUNS/$name.log" 2>&1
      echo "$(date -u +%T)   done in $(echo "$(date +%s.%N) - $start" | bc) s"
    fi
    # the loss over the whole validation split (deterministic, unlike the run's random-window estimate)
    [ -f "$dir/full_val.txt" ] || "$CAUSALGEN" eval --checkpoint "$dir/ckpt_best.cgc" --data "$DATA" \
        --threads "$THREADS" --no-estimate > "$dir/full_val.txt"
    args+=("$m$SUFFIX" "$s" "$dir" "$RUNS/$name.log")
  done
done
python3 tools/experiments/summarize_runs.py --out "$RESULTS" --tag "$TAG" "${args[@]}"
