#!/usr/bin/env bash
# Builds the WebAssembly module and the demo page, then serves it:
#   web/serve.sh [PORT]      ->  open http://127.0.0.1:PORT/ (default 8000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/wasm/build.sh" "$root/build/wasm" "$root/build/web"
exec python3 "$root/web/serve.py" --dir "$root/build/web" --port "${1:-8000}"
