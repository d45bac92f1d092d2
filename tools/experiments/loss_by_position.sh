#!/usr/bin/env bash
# Loss by position inside windows longer than the training window (T = 64): builds
# tools/experiments/loss_by_position.cpp against lib/core into /tmp, then averages the cross-entropy
# at each position of validation windows of WINDOW chars (window-limited models crop past T, as
# generation does). Writes the CSV; length.sh draws several models in one picture.
#   tools/experiments/loss_by_position.sh [MODEL] [WINDOW] [STRIDE]
# Defaults: examples/models/tiny-shakespeare-max-avg.cgm, 512, 64 (windows start every 64 chars,
# so each 64-position block of a window covers nearly the same validation text). Environment: DATA, RESULTS, CXX.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
MODEL="${1:-examples/models/tiny-shakespeare-max-avg.cgm}"
WINDOW="${2:-512}"
STRIDE="${3:-64}"
DATA="${DATA:-../shared/data/tinyshakespeare.txt}"
RESULTS="${RESULTS:-docs/results/cpu}"
CXX="${CXX:-g++}"
BIN=/tmp/causalgen_loss_by_position
mkdir -p "$RESULTS"
"$CXX" -O2 -std=c++20 -ffp-contract=off -Wno-psabi -Ilib/include -Ilib/core lib/core/*.cpp lib/core/mixers/*.cpp \
    tools/experiments/loss_by_position.cpp -o "$BIN" -lm -pthread
name="loss_by_position_$(basename "$MODEL" .cgm)_w${WINDOW}_s$STRIDE"
"$BIN" "$MODEL" "$DATA" "$WINDOW" "$RESULTS/$name.csv" "$STRIDE"
