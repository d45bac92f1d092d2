#!/usr/bin/env bash
# The gradient all-reduce overlapped with the backward pass and ZeRO-1
# (docs/distributed.md), with real `mpirun --oversubscribe` runs of a model
# whose layers are big enough to be separate buckets (dropout on):
#  1. overlap on (the default) and off give bit-identical checkpoints and
#     logs with 2 ranks x 1 thread, and both equal 1 process x 2 threads;
#     ranks of 1 and 2 threads (told layer by layer and at the end) still
#     match each other's non-blocking sums; 3 ranks: on == off within TOL;
#  2. --zero 1 (with overlap on and off) is bit-identical to no ZeRO, rank 0
#     holds half of the moments' bytes, and 3 ranks (uneven shards) are
#     within TOL of one process;
#  3. a ZeRO-1 run stopped with 2 ranks resumes in one process, and a run of
#     one process resumes with 2 ranks under ZeRO-1: the same curve, bit for bit;
#  4. bad input: --zero 1 in one process, --zero 1 on one rank only, --zero 2.
# A build without MPI checks the one-process refusal only.
# Usage: mpi_overlap_zero.sh CAUSALGEN_EXE CKPT_DIFF_EXE HAS_MPI
set -uo pipefail
exe=$1
ckpt_diff=$2
has_mpi=$3
dir=$(mktemp -d /tmp/causalgen_mpi_zero_XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

awk 'BEGIN { srand(11); for (i = 0; i < 6000; i++) { printf "%s ", (rand() < 0.5 ? "to be" : "or not"); if (i % 9 == 8) printf "\n" } }' > "$dir/text.txt"
# 3 max-avg layers of 96: each layer (about 83,000 values) is a bucket of its
# own (at least 65,536), the final LayerNorm joins the last, the embeddings
# are the fourth.
model=(--n-layer 3 --n-embd 96 --block-size 16 --batch-size 4 --max-iters 16 --eval-interval 8
       --eval-iters 2 --dropout 0.1)
args=(train --data "$dir/text.txt" "${model[@]}")
quiet=("${args[@]}" --quiet)
# As mpi_train.sh: where MPI or the thread split may add in another order.
TOL=1e-5

one_error() {
  local n
  n=$(grep -c '^causalgen: error:' "$1")
  [[ $n == 1 ]] || { cat "$1"; fail "$n error lines, expected 1"; }
  grep '^causalgen: error:' "$1" | grep -qF -- "$2" || { cat "$1"; fail "no '$2' in the error"; }
}
same() {  # same A B WHAT: bit-identical checkpoints (last and best) and log columns
  "$ckpt_diff" "$1/ckpt_last.cgc" "$2/ckpt_last.cgc" 0 > "$dir/d" || { cat "$dir/d"; fail "$3: ckpt_last differs"; }
  "$ckpt_diff" "$1/ckpt_best.cgc" "$2/ckpt_best.cgc" 0 > "$dir/d" || { cat "$dir/d"; fail "$3: ckpt_best differs"; }
  cmp -s <(cut -d, -f1-4 "$1/log.csv") <(cut -d, -f1-4 "$2/log.csv") || fail "$3: log.csv differs"
}

zero_refused() {  # one process: --zero 1 is refused before anything is written
  "$exe" "${quiet[@]}" --threads 1 --zero 1 --out "$dir/z1" > "$dir/o" 2>&1
  [[ $? == 1 ]] || { cat "$dir/o"; fail "--zero 1 in one process did not exit 1"; }
  one_error "$dir/o" "--zero 1 shards the AdamW moments across MPI ranks, but this run is one process"
  [[ ! -e $dir/z1 ]] || fail "a refused --zero 1 wrote its folder"
  "$exe" "${quiet[@]}" --threads 1 --zero 2 --out "$dir/z2" > "$dir/o" 2>&1
  [[ $? == 2 ]] || { cat "$dir/o"; fail "--zero 2 did not exit 2"; }
  one_error "$dir/o" "must be an integer in 0..1, not 2"
  "$exe" "${quiet[@]}" --threads 1 --zero 1 --device cuda --out "$dir/z3" > "$dir/o" 2>&1
  [[ $? == 1 ]] || { cat "$dir/o"; fail "--zero 1 --device cuda did not exit 1"; }
  one_error "$dir/o" "--zero 1 is implemented on the CPU backend only"
  echo "ok: --zero 1 in one process, --zero 2 and --zero 1 on CUDA are refused"
}

if [[ $has_mpi != 1 ]]; then
  zero_refused
  exit 0
fi
command -v mpirun > /dev/null || { echo "skipped: no mpirun (apt-get install openmpi-bin)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local n=$1; shift; timeout 300 mpirun -np "$n" --oversubscribe --bind-to none "$@"; }
run() {  # run N OUT [FLAGS...]: N ranks of 1 thread; rank 0's banner in OUT.txt
  local n=$1 out=$2
  shift 2
  mpi "$n" "$exe" "${args[@]}" --no-live --log-interval 1000 --threads 1 "$@" --out "$out" \
    > "$out.txt" 2>&1 || { cat "$out.txt"; fail "$n ranks $*"; }
}

zero_refused

# 1. Overlap on == off == 1 process x 2 threads, bit for bit.
"$exe" "${quiet[@]}" --threads 2 --out "$dir/one2" || fail "1 process x 2 threads"
run 2 "$dir/on"
run 2 "$dir/off" --overlap-allreduce off
grep -q "gradient all-reduce overlapped with the backward pass (4 buckets)" "$dir/on.txt" ||
  { cat "$dir/on.txt"; fail "the overlapped run does not say 4 buckets"; }
grep -q "gradient all-reduce after the backward pass" "$dir/off.txt" || fail "overlap off not in the banner"
same "$dir/on" "$dir/off" "overlap on vs off"
same "$dir/one2" "$dir/on" "overlap vs 1 process x 2 threads"
echo "ok: 2 ranks, the all-reduce overlapped == after the backward pass == 1 process x 2 threads, bit-identical"
# Rank 1 with 2 threads computes its rows in two parts and is told only at the
# end; its non-blocking sums must still pair with rank 0's.
threads_by_rank=(bash -c 't=1; [[ ${OMPI_COMM_WORLD_RANK:-0} == 1 ]] && t=2; exec "$@" --threads $t' _)
mpi 2 "${threads_by_rank[@]}" "$exe" "${quiet[@]}" --out "$dir/mixed" > "$dir/o" 2>&1 ||
  { cat "$dir/o"; fail "ranks of 1 and 2 threads"; }
"$ckpt_diff" "$dir/one2/ckpt_last.cgc" "$dir/mixed/ckpt_last.cgc" "$TOL" > "$dir/d" || { cat "$dir/d"; fail "ranks of 1 and 2 threads"; }
run 3 "$dir/on3"
run 3 "$dir/off3" --overlap-allreduce off
"$ckpt_diff" "$dir/off3/ckpt_last.cgc" "$dir/on3/ckpt_last.cgc" "$TOL" > "$dir/d" || { cat "$dir/d"; fail "3 ranks: on vs off"; }
echo "ok: ranks of 1 and 2 threads, and 3 ranks overlapped or not: within $TOL ($(grep params "$dir/d" | xargs))"

# 2. ZeRO-1 == no ZeRO, bit for bit; rank 0 keeps half of the moments.
run 2 "$dir/zero" --zero 1
run 2 "$dir/zero_off" --zero 1 --overlap-allreduce off
same "$dir/on" "$dir/zero" "ZeRO-1 vs none"
same "$dir/on" "$dir/zero_off" "ZeRO-1 without overlap vs none"
params=$(grep -o '[0-9,]* parameters' "$dir/zero.txt" | head -1 | tr -d ', a-z')
[[ -n $params ]] || fail "no parameter count in the banner"
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<< "$1"; }
# Rank 0's shard: the first floor(P / 2) values of m and of v, 4 bytes each.
expect="ZeRO-1: AdamW moments $(commas $((params / 2 * 8))) bytes on this rank (of $(commas $((params * 8))))"
grep -qF "$expect" "$dir/zero.txt" || { cat "$dir/zero.txt"; fail "no '$expect'"; }
grep -q "ZeRO" "$dir/on.txt" && fail "ZeRO in the banner of a run without it"
run 3 "$dir/zero3" --zero 1
"$ckpt_diff" "$dir/one2/ckpt_last.cgc" "$dir/zero3/ckpt_last.cgc" "$TOL" > "$dir/d" || { cat "$dir/d"; fail "3 ranks ZeRO-1"; }
echo "ok: ZeRO-1 == no ZeRO bit for bit (2 ranks, overlap on and off; ${expect#ZeRO-1: }); 3 ranks within $TOL"

# 3. Resume across ZeRO-1 and rank counts.
run 2 "$dir/z21" --zero 1 --stop-at 8
"$exe" "${quiet[@]}" --threads 2 --resume --out "$dir/z21" || fail "resume ZeRO-1 2 ranks -> 1 process"
same "$dir/one2" "$dir/z21" "ZeRO-1 2 ranks -> 1 process"
"$exe" "${quiet[@]}" --threads 2 --stop-at 8 --out "$dir/z12" > /dev/null || fail "1 process, stopped"
mpi 2 "$exe" "${quiet[@]}" --threads 1 --zero 1 --resume --out "$dir/z12" > "$dir/o" 2>&1 ||
  { cat "$dir/o"; fail "resume 1 process -> 2 ranks ZeRO-1"; }
same "$dir/one2" "$dir/z12" "1 process -> ZeRO-1 2 ranks"
echo "ok: ZeRO-1 checkpoints resume in 1 process and 1 process resumes under ZeRO-1, bit for bit"

# 4. Ranks started with different --zero are refused; nothing is written.
zero_on_rank1=(bash -c 'z=0; [[ ${OMPI_COMM_WORLD_RANK:-0} == 1 ]] && z=1; exec "$@" --zero $z' _)
mpi 2 "${zero_on_rank1[@]}" "$exe" "${quiet[@]}" --threads 1 --out "$dir/zr" > "$dir/o" 2>&1 &&
  fail "--zero on one rank only exited 0"
one_error "$dir/o" "the ranks were started differently"
[[ -z $(ls -A "$dir/zr" 2> /dev/null) ]] || fail "different --zero wrote files"
echo "ok: ranks started with different --zero are refused"
