#!/usr/bin/env bash
# Rerun every CPU experiment of docs/results.md, in order (about 2 h 10 min on a quiet 2-core VM):
#   tools/experiments/run_all.sh [SEEDS...]     (seeds for every table; default 1337 1338 1339)
# Environment as in the scripts it calls (DATA, CAUSALGEN, RUNS, RESULTS).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
D="$(dirname "$0")"
[ $# -eq 0 ] && set -- 1337 1338 1339
"$D/tiny_table.sh" "$@"
"$D/hybrids.sh" "$@"
MIXERS="max-avg max" EXTRA="--pos-emb on" SUFFIX="+pos-emb" TAG=tiny_posemb "$D/tiny_table.sh" "$@"
MIXERS="attention max max-avg" STEPS=10000 EXTRA="--eval-interval 500" SUFFIX="+10k" TAG=tiny_10k \
    "$D/tiny_table.sh" "$@"
MIXERS="attention,max-avg,attention,max-avg max-avg,max-avg,max-avg,attention" STEPS=10000 \
    EXTRA="--eval-interval 500" SUFFIX="+10k" TAG=tiny_hybrid_10k "$D/tiny_table.sh" "$@"
MIXERS="min min-avg" STEPS=10000 EXTRA="--eval-interval 500" SUFFIX="+10k" TAG=tiny_min_10k \
    "$D/tiny_table.sh" "$@"
"$D/bench_generate.sh"
"$D/length.sh"
(cd "$D/../.." && python3 tools/experiments/plot_gpu_small.py)
