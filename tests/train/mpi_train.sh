#!/usr/bin/env bash
# Data parallelism across processes (docs/distributed.md), with real
# `mpirun -np 2 --oversubscribe` runs of a small model (dropout on):
#  1. 2 ranks x 1 thread and 1 process x 2 threads split each batch alike
#     and add the two halves' gradients in the same order: the checkpoints'
#     contents (every step's loss and gradient norm, evaluations, parameters,
#     AdamW moments) are bit-identical;
#  2. 1 process x 1 thread sums the batch in another order: within TOL;
#  3. a run stopped with 2 ranks and resumed in 1 process (and the reverse)
#     continues the same curve, bit-identically; resumed with 3 ranks, within TOL;
#  4. Ctrl-C stops every rank at one step and rank 0 saves; a rank killed
#     with SIGKILL ends the job non-zero within 60 s, and the last checkpoint
#     loads;
#  5. bad input (the data missing on one rank, ranks started with different
#     flags, a batch smaller than the ranks): one message from rank 0, a
#     non-zero exit, and the run folder as it was.
# A build without MPI (HAS_MPI 0) instead checks that it refuses to train
# when a launcher's environment says it is one of several processes.
# Usage: mpi_train.sh CAUSALGEN_EXE CKPT_DIFF_EXE HAS_MPI
set -uo pipefail
exe=$1
ckpt_diff=$2
has_mpi=$3
dir=$(mktemp -d /tmp/causalgen_mpi_XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

awk 'BEGIN { srand(7); for (i = 0; i < 6000; i++) { printf "%s ", (rand() < 0.5 ? "to be" : "or not"); if (i % 9 == 8) printf "\n" } }' > "$dir/text.txt"
unbatched=(--n-layer 2 --n-embd 32 --block-size 16 --max-iters 20 --eval-interval 10 --eval-iters 2
           --dropout 0.1 --quiet)
model=("${unbatched[@]}" --batch-size 4)
args=(train --data "$dir/text.txt" "${model[@]}")
# Measured: after 20 steps 1 process x 1 thread and 2 ranks differ by at most
# 2.4e-7 (a gradient norm; parameters 7.5e-9): float sums over the batch in
# another order. TOL leaves 40x room.
TOL=1e-5

# One "causalgen: error:" line in $1, containing $2.
one_error() {
  local n
  n=$(grep -c '^causalgen: error:' "$1")
  [[ $n == 1 ]] || { cat "$1"; fail "$n error lines, expected 1"; }
  grep '^causalgen: error:' "$1" | grep -qF -- "$2" || { cat "$1"; fail "no '$2' in the error"; }
}

if [[ $has_mpi != 1 ]]; then
  # Rank 0 of 2 says why; rank 1 exits silently; nothing is written.
  OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 "$exe" "${args[@]}" --out "$dir/x" > "$dir/o" 2>&1
  [[ $? == 1 ]] || fail "a build without MPI under mpirun did not exit 1"
  one_error "$dir/o" "started by an MPI launcher as one of 2 processes, but this build has no MPI"
  PMI_SIZE=2 PMI_RANK=1 "$exe" "${args[@]}" --out "$dir/x" > "$dir/o" 2>&1
  [[ $? == 1 && ! -s $dir/o && ! -e $dir/x ]] || fail "rank 1 of a build without MPI"
  echo "ok: a build without MPI refuses to train under a launcher"
  exit 0
fi
command -v mpirun > /dev/null || { echo "skipped: no mpirun (apt-get install openmpi-bin)"; exit 77; }
# OpenMPI refuses root unless told; containers often forbid its shared-memory
# single copy (CMA), which is only a speed-up.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local n=$1; shift; timeout 300 mpirun -np "$n" --oversubscribe --bind-to none "$@"; }

# 1. 2 ranks x 1 thread == 1 process x 2 threads, bit for bit.
"$exe" "${args[@]}" --threads 2 --out "$dir/one2" || fail "1 process x 2 threads"
"$exe" "${args[@]}" --threads 1 --out "$dir/one1" || fail "1 process x 1 thread"
mpi 2 "$exe" "${args[@]}" --threads 1 --out "$dir/two" > "$dir/o" 2>&1 || { cat "$dir/o"; fail "2 ranks"; }
[[ -f $dir/two/log.csv && -f $dir/two/loss.svg && -f $dir/two/ckpt_best.cgc ]] || fail "rank 0's files"
"$ckpt_diff" "$dir/one2/ckpt_last.cgc" "$dir/two/ckpt_last.cgc" 0 || fail "2 ranks != 1 process x 2 threads"
"$ckpt_diff" "$dir/one2/ckpt_best.cgc" "$dir/two/ckpt_best.cgc" 0 || fail "best checkpoints differ"
cmp <(cut -d, -f1-4 "$dir/one2/log.csv") <(cut -d, -f1-4 "$dir/two/log.csv") || fail "log.csv differs"
echo "ok: 2 ranks x 1 thread == 1 process x 2 threads, bit-identical"

# 2. 1 process x 1 thread: the same curve within TOL.
"$ckpt_diff" "$dir/one1/ckpt_last.cgc" "$dir/two/ckpt_last.cgc" "$TOL" || fail "2 ranks vs 1 thread"
echo "ok: 2 ranks x 1 thread vs 1 process x 1 thread within $TOL"

# 3. Stop and resume with another number of ranks.
mpi 2 "$exe" "${args[@]}" --threads 1 --stop-at 10 --out "$dir/r21" > "$dir/o" 2>&1
[[ -f $dir/r21/ckpt_last.cgc ]] || { cat "$dir/o"; fail "2 ranks stopped at 10 saved nothing"; }
# (The comparison sees a difference: the same run 10 steps apart.)
"$ckpt_diff" "$dir/r21/ckpt_last.cgc" "$dir/two/ckpt_last.cgc" "$TOL" > /dev/null && fail "ckpt_diff blind"
"$exe" "${args[@]}" --threads 2 --resume --out "$dir/r21" || fail "resume 2 ranks -> 1 process"
"$ckpt_diff" "$dir/one2/ckpt_last.cgc" "$dir/r21/ckpt_last.cgc" 0 || fail "2 ranks -> 1 process"
"$exe" "${args[@]}" --threads 2 --stop-at 10 --out "$dir/r12" > /dev/null
mpi 2 "$exe" "${args[@]}" --threads 1 --resume --out "$dir/r12" > "$dir/o" 2>&1 || { cat "$dir/o"; fail "resume 1 process -> 2 ranks"; }
"$ckpt_diff" "$dir/one2/ckpt_last.cgc" "$dir/r12/ckpt_last.cgc" 0 || fail "1 process -> 2 ranks"
"$exe" "${args[@]}" --threads 2 --stop-at 10 --out "$dir/r13" > /dev/null
mpi 3 "$exe" "${args[@]}" --threads 1 --resume --out "$dir/r13" > "$dir/o" 2>&1 || { cat "$dir/o"; fail "resume with 3 ranks"; }
"$ckpt_diff" "$dir/one2/ckpt_last.cgc" "$dir/r13/ckpt_last.cgc" "$TOL" || fail "1 process -> 3 ranks"
echo "ok: resumed across 1, 2 and 3 ranks: the same curve"

# 5. Bad input, on a finished run (resumed for more steps) and a fresh folder.
snapshot() { (cd "$dir/two" && sha256sum ./*); }
# A resume of the finished run for 20 more steps (one at its last step is refused).
more=("${model[@]}")
for i in "${!more[@]}"; do [[ ${more[$i]} == --max-iters ]] && more[$((i + 1))]=40; done
before=$(snapshot)
data_on_rank1=(bash -c 'd=$1; shift; [[ ${OMPI_COMM_WORLD_RANK:-0} == 1 ]] && d=$1; shift; exec "$@" --data "$d"'
               _ "$dir/text.txt" "$dir/missing.txt" "$exe" train "${more[@]}" --threads 1)
mpi 2 "${data_on_rank1[@]}" --resume --out "$dir/two" > "$dir/o" 2>&1 && fail "missing data exited 0"
one_error "$dir/o" "rank 1: $dir/missing.txt"
[[ $(snapshot) == "$before" ]] || fail "a failed start changed the run's files"
lr_on_rank1=(bash -c 'lr=0.001; [[ ${OMPI_COMM_WORLD_RANK:-0} == 1 ]] && lr=0.002; exec "$@" --lr $lr'
             _ "$exe" "${args[@]}" --threads 1)
mpi 2 "${lr_on_rank1[@]}" --out "$dir/flags" > "$dir/o" 2>&1 && fail "different flags exited 0"
one_error "$dir/o" "the ranks were started differently"
one_error "$dir/o" "of rank 1 differ from rank 0's"
[[ -z $(ls -A "$dir/flags" 2> /dev/null) ]] || fail "different flags wrote files"
mpi 2 "$exe" train --data "$dir/text.txt" "${unbatched[@]}" --threads 1 --batch-size 1 --out "$dir/b1" > "$dir/o" 2>&1 && fail "batch 1 on 2 ranks exited 0"
one_error "$dir/o" "--batch-size 1 is smaller than the number of ranks (2)"
mpi 2 "$exe" "${args[@]}" --threads 1 --out "$dir/two" > "$dir/o" 2>&1 && fail "an existing run was overwritten"
one_error "$dir/o" "already holds a run"
[[ $(snapshot) == "$before" ]] || fail "a refused run changed the run's files"
echo "ok: bad input: one message from rank 0, exit non-zero, nothing lost"

long=(train --data "$dir/text.txt" --n-layer 2 --n-embd 32 --block-size 16 --batch-size 4
      --max-iters 1000000 --eval-interval 1000000 --eval-iters 1 --threads 1)

# Ctrl-C to mpirun (which passes it on): every rank stops at the same step and
# rank 0 saves ckpt_last, which resumes.
mpirun -np 2 --oversubscribe --bind-to none "$exe" "${long[@]}" --no-live --log-interval 100000 \
  --out "$dir/int" > "$dir/o" 2>&1 &
job=$!
for _ in $(seq 600); do [[ -f $dir/int/ckpt_best.cgc ]] && break; sleep 0.1; done
sleep 1
kill -INT $job
start=$SECONDS
while kill -0 $job 2> /dev/null && ((SECONDS - start < 60)); do sleep 0.2; done
kill -0 $job 2> /dev/null && { pkill -KILL -P $job; kill -KILL $job; fail "Ctrl-C: still running after 60 s"; }
grep -q "^stopped at step [0-9]*: saved $dir/int/ckpt_last.cgc" "$dir/o" || { cat "$dir/o"; fail "Ctrl-C: no save"; }
"$exe" train --data "$dir/text.txt" --resume --stop-at 1 --quiet --out "$dir/int" || fail "Ctrl-C: no resume"
echo "ok: Ctrl-C stops every rank; rank 0 saves; the run resumes"

# 4. A rank killed with SIGKILL: the job ends, non-zero, within 60 s.
mpirun -np 2 --oversubscribe --bind-to none "$exe" "${long[@]}" --ckpt-interval 5 --quiet \
  --out "$dir/kill" > "$dir/o" 2>&1 &
job=$!
for _ in $(seq 600); do [[ -f $dir/kill/ckpt_last.cgc ]] && break; sleep 0.1; done
[[ -f $dir/kill/ckpt_last.cgc ]] || { kill -KILL $job; cat "$dir/o"; fail "no checkpoint within 60 s"; }
victim=
# mpirun's children are the ranks (OpenMPI 4); one level further down with a
# launcher daemon in between (OpenMPI 5's prted).
for p in $(pgrep -P $job) $(for c in $(pgrep -P $job); do pgrep -P "$c"; done); do
  tr '\0' '\n' < /proc/$p/environ 2> /dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
done
[[ -n $victim ]] || { kill -KILL $job; fail "rank 1's process not found"; }
kill -KILL "$victim"
start=$SECONDS
while kill -0 $job 2> /dev/null && ((SECONDS - start < 60)); do sleep 0.2; done
if kill -0 $job 2> /dev/null; then
  pkill -KILL -P $job; kill -KILL $job; fail "the job still runs 60 s after a rank was killed (hang)"
fi
wait $job
rc=$?
[[ $rc != 0 ]] || fail "the job exited 0 after a rank was killed"
"$ckpt_diff" "$dir/kill/ckpt_last.cgc" "$dir/kill/ckpt_last.cgc" 0 > /dev/null || fail "the last checkpoint does not load"
"$exe" train --data "$dir/text.txt" --resume --max-iters 1000000 --stop-at 1 --quiet --out "$dir/kill" > /dev/null
[[ $? == 0 ]] || fail "the killed run does not resume"
echo "ok: a killed rank ends the job (exit $rc after $((SECONDS - start)) s); the last checkpoint loads and resumes"
