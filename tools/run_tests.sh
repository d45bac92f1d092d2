#!/usr/bin/env bash
# Runs the whole test suite, as CI does (.ci/run calls exactly this):
#   1. installs what the tests need (tools/setup.sh --all),
#   2. release build + ctest,
#   3. AddressSanitizer + UndefinedBehaviorSanitizer build + ctest (long training runs excluded),
#   4. the model-file and checkpoint fuzzers for a bounded time (half each),
#   5. WebAssembly in node and the demo page in Chromium,
#   6. the Cortex-M firmware in QEMU.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

section() { printf '\n=== %s ===\n' "$*"; }

section "setup"
bash tools/setup.sh --all

section "release build and tests"
cmake --preset release
cmake --build --preset release -j"$jobs"
ctest --preset release -j"$jobs"

section "sanitizer (ASan+UBSan) build and tests"
cmake --preset debug
cmake --build --preset debug -j"$jobs"
# The long end-to-end training runs already ran in the release stage.
ctest --preset debug -j"$jobs" -E "end to end|killed during a save"

if [[ -f tests/fuzz/run_fuzz.sh ]]; then
  section "fuzzing model files and checkpoints"
  bash tests/fuzz/run_fuzz.sh "${CAUSALGEN_FUZZ_SECONDS:-60}"
fi
if [[ -f tests/web/run_web_tests.sh ]]; then
  section "WebAssembly (node) and demo page (Chromium)"
  bash tests/web/run_web_tests.sh build/release
fi
if [[ -f tests/firmware/run_qemu_tests.sh ]]; then
  section "Cortex-M firmware in QEMU"
  bash tests/firmware/run_qemu_tests.sh build/release
fi
section "all test stages passed"
