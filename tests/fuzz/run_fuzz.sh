#!/bin/bash
# Builds the libFuzzer target with the fuzz preset and fuzzes model files for
# a bounded time. Exits non-zero on a crash (the reproducer is left in
# build/fuzz/artifacts/).
#   tests/fuzz/run_fuzz.sh [SECONDS=60] [extra libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
shift || true
# CUDA is irrelevant here: keep it out of the configure.
cmake --preset fuzz -DCAUSALGEN_CUDA=OFF >/dev/null
cmake --build --preset fuzz -j2 --target fuzz_model_file fuzz_seed_gen
bin=build/fuzz/tests/fuzz
corpus=build/fuzz/corpus
mkdir -p "$corpus" build/fuzz/artifacts
"$bin/fuzz_seed_gen" "$corpus"
"$bin/fuzz_model_file" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -dict=tests/fuzz/fuzz_model_file.dict -artifact_prefix=build/fuzz/artifacts/ \
  -print_final_stats=1 "$@" "$corpus"
echo "run_fuzz.sh: ${secs}s without a crash"
