#!/usr/bin/env bash
# On a GPU machine without a package registry: unpack the carried Debian
# headers/libraries (.deps/carry/deps.tar.xz, made by tools/gpu/pack_deps.sh),
# build with CUDA, run the CUDA tests, then whatever "$@" asks for.
#   tools/gpu/run_cuda_checks.sh [extra command ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
deps=/tmp/cgdeps
if [[ ! -d $deps/root ]]; then mkdir -p $deps && tar -xJf .deps/carry/deps.tar.xz -C $deps; fi
D=$deps/root/usr
L=$D/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$L:$L/openblas-pthread:${LD_LIBRARY_PATH:-}
mkdir -p build
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
cmake -S . -B build/gpu -DCMAKE_BUILD_TYPE=Release -DCAUSALGEN_CUDA=ON \
  -DCMAKE_PREFIX_PATH="$D;$L/cmake;$L/openblas-pthread/cmake" \
  -DBLAS_LIBRARIES=$L/openblas-pthread/libopenblas.so "-DCMAKE_CXX_FLAGS=-isystem $D/include" \
  -DLAPACK_LIBRARIES=$L/openblas-pthread/libopenblas.so >build/gpu-configure.log 2>&1 \
  || { tail -40 build/gpu-configure.log; exit 1; }
cmake --build build/gpu -j"$(nproc)" --target ${CG_TARGETS:-all} 2>&1 | grep -E "error|warning: unused|Error" || true
ctest --test-dir build/gpu -L cuda --output-on-failure
if (($#)); then "$@"; fi
