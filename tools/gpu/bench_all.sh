#!/usr/bin/env bash
# On a GPU machine, after tools/gpu/run_cuda_checks.sh built build/gpu: the
# CUDA trainer's speed for tiny and small (every mixer) and the PyTorch
# reference (eager and torch.compile) on the same shapes, in one run.
# Results land in $OUT (or /tmp/cg-out).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/cg-out}
mkdir -p "$out"
cg=build/gpu/tools/causalgen
data=${CG_DATA:-.deps/carry/tinyshakespeare.txt}
{
  echo "## causalgen bench train --device cuda"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  $cg bench train --device cuda --config tiny --steps 200
  $cg bench train --device cuda --config small --steps 60
} 2>&1 | tee "$out/bench_cuda.md"
export PYTHONUNBUFFERED=1
for spec in "small max-avg eager 60" "small max-avg compile 100" "small attention eager 60" \
            "small attention compile 100" "small min-avg compile 100" "tiny max-avg compile 300"; do
  set -- $spec
  python3 tools/reference/torch_bench.py --data "$data" --config "$1" --mixer "$2" --mode "$3" \
    --iters "$4" 2>&1 | grep -E '^\{|Error|error' | tail -3 | tee -a "$out/torch.jsonl"
done
