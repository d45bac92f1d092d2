#!/usr/bin/env bash
# Generation cost by position: a shift model (max-avg) vs an attention model, `tiny` shape,
# random weights, one thread. Writes the raw output, a CSV, a markdown table and an SVG.
#   tools/experiments/bench_generate.sh
# Environment: CAUSALGEN (default build/cuda-dev/tools/causalgen), RESULTS (default docs/results/cpu),
#   SECONDS_PER_POS (default 1).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
CAUSALGEN="${CAUSALGEN:-build/cuda-dev/tools/causalgen}"
RESULTS="${RESULTS:-docs/results/cpu}"
S="${SECONDS_PER_POS:-1}"
mkdir -p "$RESULTS"
raw="$RESULTS/bench_generate_raw.txt"
{
  echo "\$ causalgen bench generate --shape tiny --mixer max-avg --positions 64,1000,10000,100000 --seconds $S"
  "$CAUSALGEN" bench generate --shape tiny --mixer max-avg --positions 64,1000,10000,100000 --seconds "$S"
  echo "\$ causalgen bench generate --shape tiny --mixer attention --positions 1,16,32,63,64,1000 --seconds $S"
  "$CAUSALGEN" bench generate --shape tiny --mixer attention --positions 1,16,32,63,64,1000 --seconds "$S"
} > "$raw" 2>&1
cat "$raw"
python3 tools/experiments/plot_bench_generate.py "$raw" "$RESULTS"
