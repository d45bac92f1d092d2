#!/usr/bin/env bash
# Issue 13's measurement of the new bounded-state mixers on `tiny` (CPU): for each of
# $MIXERS, 3 seeds at 2,000 and at 10,000 steps (tiny_table.sh: whole-validation-split loss,
# tokens/s, curves), then generation chars/s and state bytes at positions 1,000 and 100,000
# (`causalgen bench generate`, random weights of the tiny shape, one thread).
#   tools/experiments/new_mixers.sh [SEEDS...]        (default seeds: 1337 1338 1339)
# Environment: as tiny_table.sh (DATA, CAUSALGEN, RUNS, RESULTS, THREADS), and
#   MIXERS (default "ema max-ema mingru local"; local with --window = T), STEPS_LIST (default "2000 10000").
# Needs an otherwise idle machine: 4 mixers x 3 seeds x 12,000 steps is about
# 150,000 steps, many hours on 2 cores. Writes $RESULTS/tiny_new_<steps>.{csv,md,svg}
# and $RESULTS/bench_generate_new.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
export MIXERS="${MIXERS:-ema max-ema mingru local}"
CAUSALGEN="${CAUSALGEN:-build/cuda-dev/tools/causalgen}"
RESULTS="${RESULTS:-docs/results/cpu}"
RUNS="${RUNS:-/tmp/causalgen-runs}"
for steps in ${STEPS_LIST:-2000 10000}; do  # run folders per step count: tiny_table.sh names them by mixer and seed
  RUNS="$RUNS/steps$steps" STEPS="$steps" TAG="tiny_new_$steps" tools/experiments/tiny_table.sh "$@"
done
out="$RESULTS/bench_generate_new.txt"
: > "$out"
for m in $MIXERS; do
  echo "== $m" >> "$out"
  OMP_NUM_THREADS=1 "$CAUSALGEN" bench generate --shape tiny --mixer "$m" --positions 1000 100000 \
      >> "$out"
done
echo "wrote $out"
