#!/usr/bin/env bash
# Builds the WebAssembly core (build/wasm) and assembles the demo page
# (build/web). Needs Debian's emscripten package (tools/setup.sh --all).
#   wasm/build.sh [BUILD_DIR] [WEB_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/wasm}
web=${2:-$root/build/web}
export NODE_PATH=/usr/share/nodejs   # Debian's emscripten needs acorn from here
command -v emcmake >/dev/null || { echo "wasm/build.sh: emcmake not found (apt-get install emscripten)" >&2; exit 1; }
log=$(mktemp)
emcmake cmake -S "$root/wasm" -B "$build" -DCAUSALGEN_WEB_DIR="$web" \
  "-DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node;--no-experimental-fetch" >"$log" 2>&1 \
  || { cat "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"
cmake --build "$build" -j2
