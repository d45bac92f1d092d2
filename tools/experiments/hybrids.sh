#!/usr/bin/env bash
# Hybrid layouts on `tiny` (default one seed, 1337): attention every other layer, and attention
# only in the last layer. Same environment variables as tiny_table.sh.
#   tools/experiments/hybrids.sh [SEEDS...]
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
export MIXERS="attention,max-avg,attention,max-avg max-avg,max-avg,max-avg,attention"
export TAG="${TAG:-tiny_hybrid}"
[ $# -eq 0 ] && set -- 1337
exec "$(dirname "$0")/tiny_table.sh" "$@"
