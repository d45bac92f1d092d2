#!/usr/bin/env bash
# CPU training throughput across MPI ranks, variants measured side by side:
# they alternate ROUNDS times on the same data, model and global batch, and
# each round reports each variant's median tokens/s over the steps after the
# first 5 (log.csv), with the load average at the round's start (the machine
# may be shared: compare within a round). Also prints the bytes one step
# all-reduces (the parameter count x 4) (docs/distributed.md's cost model).
# SET chooses the variants:
#   threads  1 process x 2 threads | 2 ranks x 1 thread (the default)
#   overlap  2 ranks x 1 thread: the all-reduce after the backward pass |
#            overlapped with it | each of the two with ZeRO-1 (--zero 1)
# BENCH_ARGS (environment): more `train` flags, e.g. "--n-embd 384 --batch-size 4".
# Usage: bench_mpi.sh CAUSALGEN_EXE DATA [CONFIG] [STEPS] [ROUNDS] [SET]
set -euo pipefail
exe=$1
data=$2
config=${3:-tiny}
steps=${4:-40}
rounds=${5:-3}
set=${6:-threads}
dir=$(mktemp -d /tmp/causalgen_bench_mpi_XXXXXX)
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
read -ra extra <<< "${BENCH_ARGS:-}"
args=(train --data "$data" --config "$config" --max-iters "$steps" --eval-interval 100000
      --eval-iters 1 --ckpt-interval 0 --quiet "${extra[@]}")
mpi2=(mpirun -np 2 --oversubscribe --bind-to none "$exe" "${args[@]}" --threads 1)
case $set in
  threads)
    names=("1 process x 2 threads" "2 ranks x 1 thread")
    runs=("$exe ${args[*]@Q} --threads 2" "${mpi2[*]@Q}") ;;
  overlap)
    names=("after backward" "overlapped" "after + ZeRO-1" "overlapped + ZeRO-1")
    runs=("${mpi2[*]@Q} --overlap-allreduce off" "${mpi2[*]@Q} --overlap-allreduce on"
          "${mpi2[*]@Q} --overlap-allreduce off --zero 1" "${mpi2[*]@Q} --overlap-allreduce on --zero 1") ;;
  *) echo "bench_mpi.sh: SET must be threads or overlap, not $set" >&2; exit 2 ;;
esac
median_tps() {  # median tokens_per_s of log.csv's rows after the first 5
  tail -n +7 "$1/log.csv" | cut -d, -f5 | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
echo "config $config${extra[*]:+ ${extra[*]}}, $steps steps, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
for ((r = 1; r <= rounds; r++)); do
  line="round $r (load $(cut -d' ' -f1 /proc/loadavg)):"
  for i in "${!runs[@]}"; do
    eval "${runs[$i]} --out $dir/r${r}_$i"
    line+=$(printf ' %s %6.0f tokens/s |' "${names[$i]}" "$(median_tps "$dir/r${r}_$i")")
  done
  echo "${line% |}"
done
tokens=$(python3 -c "import json; c=json.load(open('$dir/r1_0/config.json')); print(c['batch_size'] * c['block_size'])" 2> /dev/null || echo "?")
params=$("$exe" export --checkpoint "$dir/r1_0/ckpt_last.cgc" --out "$dir/m.cgm" | grep -o '[0-9]* parameters' || echo "? parameters")
echo "tokens per step: $tokens; $params, all-reduced per step: $((${params% *} * 4)) bytes"
