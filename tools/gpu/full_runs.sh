#!/usr/bin/env bash
# On a GPU machine after tools/gpu/run_cuda_checks.sh: the full `small` runs
# (5000 iterations, nanoGPT's shakespeare_char settings) with the CUDA
# trainer, one mixer after another; logs and final lines land in $OUT.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/cg-out}
mkdir -p "$out"
data=${CG_DATA:-.deps/carry/tinyshakespeare.txt}
for mixer in ${CG_MIXERS:-max-avg attention min-avg}; do
  dir=/tmp/cg-small-$mixer
  rm -rf "$dir"
  build/gpu/tools/causalgen train --device cuda --config small --mixer "$mixer" --data "$data" \
    --out "$dir" --eval-interval ${CG_EVAL_INTERVAL:-500} --no-live --log-interval 1000 \
    > "$out/small-$mixer.log" 2>&1
  tail -2 "$out/small-$mixer.log"
  cp "$dir/eval.csv" "$out/small-$mixer-eval.csv" 2>/dev/null
done
