#!/usr/bin/env bash
# Rerun every CPU experiment of docs/results.md, in order (about 20 minutes on a quiet 2-core VM):
#   tools/experiments/run_all.sh [SEEDS...]     (seeds for the mixer table; default 1337 1338 1339)
# Environment as in the scripts it calls (DATA, CAUSALGEN, RUNS, RESULTS).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
D="$(dirname "$0")"
"$D/tiny_table.sh" "$@"
"$D/hybrids.sh" 1337
"$D/bench_generate.sh"
"$D/loss_by_position.sh"
(cd "$D/../.." && python3 tools/experiments/plot_gpu_small.py)
