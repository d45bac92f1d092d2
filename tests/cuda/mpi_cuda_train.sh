#!/usr/bin/env bash
# Two GPUs, one rank each (NCCL, docs/distributed.md): `mpirun -np 2
# causalgen train --device cuda --precision f32` against one process on one
# GPU with the same global batch (no dropout): every step's loss and the final
# parameters within TOL (f32 products; the two halves' gradients are summed
# by NCCL instead of inside one GEMM). Skipped (77) without mpirun, without
# MPI in this build, or with fewer than 2 GPUs.
# Usage: mpi_cuda_train.sh CAUSALGEN_EXE CKPT_DIFF_EXE HAS_MPI
set -uo pipefail
exe=$1
ckpt_diff=$2
[[ $3 == 1 ]] || { echo "skipped: this build has no MPI"; exit 77; }
command -v mpirun > /dev/null || { echo "skipped: no mpirun"; exit 77; }
gpus=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU')
((gpus >= 2)) || { echo "skipped: $gpus GPU(s); this test needs 2"; exit 77; }
dir=$(mktemp -d /tmp/causalgen_mpi_cuda_XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

awk 'BEGIN { srand(7); for (i = 0; i < 20000; i++) { printf "%s ", (rand() < 0.5 ? "to be" : "or not"); if (i % 9 == 8) printf "\n" } }' > "$dir/text.txt"
args=(train --data "$dir/text.txt" --device cuda --precision f32 --n-layer 2 --n-embd 64
      --block-size 32 --batch-size 8 --max-iters 20 --eval-interval 10 --eval-iters 2 --dropout 0
      --quiet)
# Not measured on 2 GPUs yet (none lent so far): the CPU's 2-rank difference
# is 2.4e-7 after 20 steps; f32 GPU sums in another order are of that size.
TOL=1e-4
"$exe" "${args[@]}" --out "$dir/one" || fail "one GPU"
timeout 300 mpirun -np 2 --oversubscribe --bind-to none "$exe" "${args[@]}" --out "$dir/two" \
  > "$dir/o" 2>&1 || { cat "$dir/o"; fail "2 ranks x 1 GPU"; }
"$ckpt_diff" "$dir/one/ckpt_last.cgc" "$dir/two/ckpt_last.cgc" "$TOL" || fail "2 GPUs vs 1 GPU"
echo "ok: 2 GPUs (NCCL) follow 1 GPU within $TOL"
