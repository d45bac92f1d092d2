#!/usr/bin/env bash
# Issue 13's measurement of the new bounded-state mixers on `tiny` (CPU), docs/results.md §7 – §8:
#  1. for each of $MIXERS and $HYBRIDS (or $MIXERS2000), 3 seeds at 2,000 steps (tiny_table.sh:
#     whole-validation-split loss, tokens/s, curves): $RESULTS/$TAG2000.* (default tiny_new_2000);
#  2. the same mixers and the $HYBRIDS at 10,000 steps (evaluated every 500, as §2c's attention):
#     $RESULTS/tiny_new_10000.*;
#  3. $DROPOUT_MIXERS at 10,000 steps with --dropout $DROPOUT (attention among them, so the
#     baseline gets the same regularisation): $RESULTS/tiny_new_10000_dropout.*;
#  4. generation chars/s and state bytes at positions 1,000 and 100,000 of the seed-1337
#     10,000-step models (`causalgen bench generate --model`, one thread): bench_generate_new.txt;
#  5. loss by position to 8 x T of the same models (loss_by_position.sh): length_new_w512_s64.svg;
#  6. $DEEP_MIXERS with 5 layers at 10,000 steps: $RESULTS/tiny_new_10000_L5.*.
#   tools/experiments/new_mixers.sh [SEEDS...]        (default seeds: 1337 1338 1339)
# Environment: as tiny_table.sh (DATA, CAUSALGEN, RUNS, RESULTS, THREADS), and MIXERS (default
#   "ema max-ema mingru local"; local with --window = T), HYBRIDS (default
#   "mingru,mingru,mingru,local"), DROPOUT_MIXERS (default "attention mingru max-ema"),
#   DROPOUT (default 0.1), DEEP_MIXERS (default "max-ema"), PARTS (default "1 2 3 4 5 6").
# Needs an otherwise idle machine: about 5 minutes a 10,000-step run at 2 threads on a quiet
# 2-core VM (two 1-thread runs side by side give the same losses: a seed fixes them).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
MIXERS="${MIXERS:-ema max-ema mingru local}"
HYBRIDS="${HYBRIDS:-mingru,mingru,mingru,local}"
DROPOUT_MIXERS="${DROPOUT_MIXERS:-attention mingru max-ema}"
DROPOUT="${DROPOUT:-0.1}"
DEEP_MIXERS="${DEEP_MIXERS:-max-ema}"
PARTS="${PARTS:-1 2 3 4 5 6}"
export CAUSALGEN="${CAUSALGEN:-build/cuda-dev/tools/causalgen}"
export RESULTS="${RESULTS:-docs/results/cpu}"
export RUNS="${RUNS:-/tmp/causalgen-runs}"
DATA="${DATA:-../shared/data/tinyshakespeare.txt}"
part() { [[ " $PARTS " == *" $1 "* ]]; }

part 1 && RUNS="$RUNS/steps2000" STEPS=2000 MIXERS="${MIXERS2000:-$MIXERS $HYBRIDS}" \
    TAG="${TAG2000:-tiny_new_2000}" tools/experiments/tiny_table.sh "$@"
part 2 && STEPS=10000 MIXERS="$MIXERS $HYBRIDS" SUFFIX=+10k EXTRA="--eval-interval 500" \
    TAG=tiny_new_10000 tools/experiments/tiny_table.sh "$@"
part 3 && STEPS=10000 MIXERS="$DROPOUT_MIXERS" SUFFIX="+10k_drop$DROPOUT" \
    EXTRA="--eval-interval 500 --dropout $DROPOUT" TAG=tiny_new_10000_dropout \
    tools/experiments/tiny_table.sh "$@"
# 6. the parameter-free mixers with a 5th layer: attention's parameter budget (809,856) spent on
#    depth instead of on Wqkv (max-ema: 752,256 parameters).
part 6 && STEPS=10000 MIXERS="$DEEP_MIXERS" SUFFIX="+10k_L5" EXTRA="--eval-interval 500 --n-layer 5" \
    TAG="${TAG_DEEP:-tiny_new_10000_L5}" tools/experiments/tiny_table.sh "$@"

# Parts 4 and 5 measure the seed-1337 10,000-step model of each mixer, as a model file.
models=()
part 4 || part 5 || exit 0
for m in $MIXERS $HYBRIDS; do
  name="tiny_${m//,/_}_10k_s1337"
  [ -f "$RUNS/$name/ckpt_best.cgc" ] || { echo "no $RUNS/$name: $m left out of parts 4 and 5"; continue; }
  models+=("$m=$RUNS/$name.cgm")
  [ -f "$RUNS/$name.cgm" ] ||
      "$CAUSALGEN" export --checkpoint "$RUNS/$name/ckpt_best.cgc" --out "$RUNS/$name.cgm" > /dev/null
done

if part 4; then
  out="$RESULTS/bench_generate_new.txt"
  : > "$out"
  # the control: the paper's max-avg, as shipped (2,000 steps; speed does not depend on training)
  for mm in "max-avg (shipped)=examples/models/tiny-shakespeare-max-avg.cgm" "${models[@]}"; do
    echo "== ${mm%%=*}" >> "$out"
    OMP_NUM_THREADS=1 "$CAUSALGEN" bench generate --model "${mm#*=}" --positions 1000 100000 \
        --seconds 3 >> "$out"
  done
  echo "wrote $out"
fi

if part 5; then
  args=()
  for mm in "${models[@]}"; do
    model="${mm#*=}"
    DATA="$DATA" tools/experiments/loss_by_position.sh "$model" 512 64 > /dev/null
    args+=("${mm%%=*}=$RESULTS/loss_by_position_$(basename "$model" .cgm)_w512_s64.csv")
  done
  python3 tools/experiments/plot_length.py "$RESULTS/length_new_w512_s64.svg" 64 "${args[@]}" \
      | tee "$RESULTS/length_new_w512_s64.md"
  echo "wrote $RESULTS/length_new_w512_s64.{svg,md}"
fi
