#!/bin/bash
# Builds the libFuzzer targets with the fuzz preset and runs each for a
# bounded time: model files (fuzz_model_file, structure-aware mutator) and
# training checkpoints (fuzz_checkpoint), half the time each. Seeds and the
# checkpoint dictionary are generated here, never committed. Exits non-zero
# on a crash, leak, timeout or out-of-memory (the reproducer is left in
# build/fuzz/artifacts/NAME/).
#   tests/fuzz/run_fuzz.sh [SECONDS=60] [extra libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
each=$(( (secs + 1) / 2 ))
# CUDA and MPI are irrelevant here: keep them out of the configure.
cmake --preset fuzz -DCAUSALGEN_CUDA=OFF -DCAUSALGEN_MPI=OFF >/dev/null
cmake --build --preset fuzz -j2 --target fuzz_model_file fuzz_checkpoint fuzz_seed_gen fuzz_checkpoint_seed_gen
bin=build/fuzz/tests/fuzz
out=build/fuzz

mkdir -p $out/corpus/model_file $out/corpus/checkpoint $out/artifacts/model_file $out/artifacts/checkpoint
"$bin/fuzz_seed_gen" $out/corpus/model_file
"$bin/fuzz_checkpoint_seed_gen" $out/corpus/checkpoint $out/fuzz_checkpoint.dict

# fuzz NAME DICT MAX_LEN [flags...]
fuzz() {
  local name=$1 dict=$2 max_len=$3
  shift 3
  "$bin/fuzz_$name" -max_total_time="$each" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -dict="$dict" -artifact_prefix=$out/artifacts/$name/ -print_final_stats=1 "$@" $out/corpus/$name
}
fuzz model_file tests/fuzz/fuzz_model_file.dict 8192 "$@"
fuzz checkpoint $out/fuzz_checkpoint.dict 16384 "$@"
echo "run_fuzz.sh: ${each}s of each fuzzer without a crash"
