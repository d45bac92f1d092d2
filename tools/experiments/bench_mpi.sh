#!/usr/bin/env bash
# CPU training throughput, 2 MPI ranks x 1 thread against 1 process x 2
# threads, measured side by side: the two alternate ROUNDS times on the same
# data, model and global batch, and each round reports its median tokens/s
# over the steps after the first 5 (log.csv). Also prints the bytes one step
# all-reduces (the parameter count x 4) and the step time they compare with
# (docs/distributed.md's cost model).
# Usage: bench_mpi.sh CAUSALGEN_EXE DATA [CONFIG] [STEPS] [ROUNDS]
set -euo pipefail
exe=$1
data=$2
config=${3:-tiny}
steps=${4:-40}
rounds=${5:-3}
dir=$(mktemp -d /tmp/causalgen_bench_mpi_XXXXXX)
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args=(train --data "$data" --config "$config" --max-iters "$steps" --eval-interval 100000
      --eval-iters 1 --ckpt-interval 0 --quiet)
median_tps() {  # median tokens_per_s of log.csv's rows after the first 5
  tail -n +7 "$1/log.csv" | cut -d, -f5 | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
echo "config $config, $steps steps, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
for ((r = 1; r <= rounds; r++)); do
  "$exe" "${args[@]}" --threads 2 --out "$dir/p$r"
  mpirun -np 2 --oversubscribe --bind-to none "$exe" "${args[@]}" --threads 1 --out "$dir/m$r"
  printf 'round %d: 1 process x 2 threads %8.0f tokens/s | 2 ranks x 1 thread %8.0f tokens/s\n' \
    "$r" "$(median_tps "$dir/p$r")" "$(median_tps "$dir/m$r")"
done
params=$("$exe" info "$dir/p1/ckpt_last.cgc" 2> /dev/null | grep -io '[0-9,]* parameters' | head -1 || true)
tokens=$(python3 -c "import json; c=json.load(open('$dir/p1/config.json')); print(c['batch_size'] * c['block_size'])" 2> /dev/null || echo "?")
echo "tokens per step: $tokens; ${params:-parameters: see the banner}"
