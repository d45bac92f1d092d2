#!/usr/bin/env bash
# Run here (Debian, with apt): packs the header-only and library packages the
# build needs into .deps/carry/deps.tar.xz, for GPU machines that reach no
# package registry. Then, with the device tool:
#   run(command="bash tools/gpu/run_cuda_checks.sh [extra command]", carry=[".deps/carry"])
# (tools/gpu/bench_all.sh and tools/gpu/full_runs.sh are such extra commands;
# they also read .deps/carry/tinyshakespeare.txt, copied here.)
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .deps/debs .deps/carry
rm -rf .deps/root && mkdir -p .deps/root
(cd .deps/debs && apt-get download libxtensor-dev libxsimd-dev xtl-dev libcereal-dev catch2 \
   libxtensor-blas-dev libopenblas-dev libopenblas0-pthread libopenblas-pthread-dev libopenblas0 \
   libcli11-dev libgfortran5 liblapack3 liblapack-dev libblas3 libblas-dev rapidjson-dev)
for f in .deps/debs/*.deb; do dpkg -x "$f" .deps/root; done
# Static archives and reference BLAS/LAPACK are not needed and would not fit the 64 MiB carry.
L=.deps/root/usr/lib/x86_64-linux-gnu
rm -rf "$L"/openblas-pthread/*.a "$L"/liblapack_pic.a "$L"/lapack "$L"/blas .deps/root/usr/share/doc
tar -C .deps -cJf .deps/carry/deps.tar.xz root
cp ../shared/data/tinyshakespeare.txt .deps/carry/ 2>/dev/null || true
du -sh .deps/carry
