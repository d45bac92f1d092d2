#!/usr/bin/env bash
# Loss by position up to 8 x the training window (T = 64) for shift models with and without the
# position embedding, and attention: exports the seed-1337 runs of tiny_table.sh (max, max-avg,
# attention) and of the position-embedding runs (see run_all.sh) to model files in $RUNS, runs
# loss_by_position.sh on each, and draws them in one picture. Models with a position embedding
# (and attention) cannot see past T: from position T on they see the last T characters (crop).
#   tools/experiments/length.sh [WINDOW=512] [STRIDE=64]
# Environment: CAUSALGEN, RUNS, RESULTS, DATA as in tiny_table.sh.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
WINDOW="${1:-512}"
STRIDE="${2:-64}"
CAUSALGEN="${CAUSALGEN:-build/cuda-dev/tools/causalgen}"
RUNS="${RUNS:-/tmp/causalgen-runs}"
RESULTS="${RESULTS:-docs/results/cpu}"
export RESULTS
args=()
for run in max-avg max-avg_pos-emb max max_pos-emb attention; do
  ckpt="$RUNS/tiny_${run}_s1337/ckpt_best.cgc"
  [ -f "$ckpt" ] || { echo "missing $ckpt: run tiny_table.sh and the position-embedding runs first" >&2; exit 1; }
  model="$RUNS/tiny-$run-s1337.cgm"
  "$CAUSALGEN" export --checkpoint "$ckpt" --out "$model" > /dev/null
  echo "$(date -u +%T) $run"
  tools/experiments/loss_by_position.sh "$model" "$WINDOW" "$STRIDE" > /dev/null
  label="$run"; [ "$run" = attention ] && label="attention (pos-emb)"
  args+=("${label//_/ + }=$RESULTS/loss_by_position_tiny-$run-s1337_w${WINDOW}_s$STRIDE.csv")
done
python3 tools/experiments/plot_length.py "$RESULTS/length_w${WINDOW}_s$STRIDE.svg" 64 "${args[@]}" \
    | tee "$RESULTS/length_w${WINDOW}_s$STRIDE.md"
