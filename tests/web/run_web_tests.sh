#!/usr/bin/env bash
# The WebAssembly and browser tests, in one command:
#   tests/web/run_web_tests.sh NATIVE_BUILD_DIR        (holding tools/causalgen)
# 1. builds the wasm core and the demo page (wasm/build.sh -> build/wasm, build/web);
# 2. writes fixed random-weight test models (tests/web/make_test_models.cpp);
# 3. node: the wasm module's text == the native CLI's, byte for byte, on every
#    test model and every shipped model (examples/models/*.cgm); errors, stop, stats;
# 4. Playwright + Debian's Chromium against the served page (tests/web/browser_test.mjs),
#    writing a screenshot to build/web/screenshot.png;
# 5. the npm package as a user installs it (tests/npm/test_package.mjs): npm pack,
#    install into a fresh project, Node == CLI, tsc --noEmit, Chromium.
# Installs emscripten/chromium (as root, when missing) and playwright-core +
# typescript (npm ci, versions pinned in tests/web/package-lock.json).
# Last line: "web tests: N passed, M failed"; exit status 1 on any failure.
# Override folders with CAUSALGEN_WASM_BUILD and CAUSALGEN_WEB_DIR.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 NATIVE_BUILD_DIR" >&2; exit 2; }
native=$(cd "$1" 2>/dev/null && pwd) || { echo "run_web_tests: no folder $1" >&2; exit 2; }
causalgen=$native/tools/causalgen
[[ -x $causalgen ]] || { echo "run_web_tests: $causalgen not built" >&2; exit 2; }
wasm_build=${CAUSALGEN_WASM_BUILD:-$root/build/wasm}
web=${CAUSALGEN_WEB_DIR:-$root/build/web}

passed=0; failed=0
die() { echo "run_web_tests: $*" >&2; echo "web tests: $passed passed, $((failed + 1)) failed"; exit 1; }

# --- tools ---------------------------------------------------------------
missing=()
command -v emcmake >/dev/null || missing+=(emscripten)
[[ -x /usr/bin/chromium ]] || missing+=(chromium chromium-driver)
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]} (run tools/setup.sh --all)"
  echo "run_web_tests: installing ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi
command -v node >/dev/null || die "node not found"
if [[ ! -d $here/node_modules/playwright-core || ! -d $here/node_modules/typescript ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci (playwright-core, typescript) failed"
fi

# --- build ---------------------------------------------------------------
echo "== building the wasm module and the page"
mkdir -p "$(dirname "$wasm_build")"
"$root/wasm/build.sh" "$wasm_build" "$web" > "$wasm_build.log" 2>&1 || { tail -30 "$wasm_build.log"; die "wasm build failed (log: $wasm_build.log)"; }
echo "== writing the test models"
helper=$wasm_build/make_test_models
if [[ -f $native/lib/libcausalgen_host.a && -f $native/lib/libcausalgen.a ]]; then
  libs=("$native/lib/libcausalgen_host.a" "$native/lib/libcausalgen.a")
else
  libs=("$root"/lib/core/*.cpp "$root/lib/host/random_model.cpp" "$root/lib/host/model_io.cpp")
fi
g++ -std=c++20 -O2 -ffp-contract=off -Wno-psabi -I"$root/lib/include" -I"$root/lib" \
  "$here/make_test_models.cpp" "${libs[@]}" -o "$helper" || die "building make_test_models failed"
mkdir -p "$web/test-models"
"$helper" "$web/test-models" || die "make_test_models failed"

node_models=("$web/test-models")
browser_models=(--model test-models/random-tiny-max-avg.cgm --model test-models/random-hybrid-attention.cgm)
# every shipped model (the build copies examples/models/*.cgm to models/)
shipped_rels=()
for f in "$web"/models/*.cgm; do [[ -f $f ]] && shipped_rels+=("models/${f##*/}"); done
for rel in "${shipped_rels[@]}"; do
  node_models+=("$web/$rel")
  browser_models+=(--model "$rel")
done
((${#shipped_rels[@]})) || echo "(no shipped model in examples/models: testing the random models only)"

count() {  # count LOG PREFIX: adds "PREFIX: N passed, M failed" from LOG, or one failure
  local line
  line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -1)
  if [[ -z $line ]]; then failed=$((failed + 1)); echo "($2: no result line: counted as 1 failure)"; return; fi
  passed=$((passed + $(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")))
  failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
}

echo "== node: wasm vs native"
log=$(mktemp)
node "$root/tests/wasm/parity.mjs" --causalgen "$causalgen" --module "$wasm_build/npm" --models "${node_models[@]}" 2>&1 | tee "$log"
count "$log" "node tests"

echo "== Chromium: the demo page"
timeout 900 node "$here/browser_test.mjs" --web "$web" --causalgen "$causalgen" "${browser_models[@]}" \
  --other test-models/random-nobias-odd-width.cgm --screenshot "$web/screenshot.png" 2>&1 | tee "$log"
count "$log" "browser tests"

echo "== the npm package, installed from its tarball into a fresh project"
npm_models=(--model "$web/test-models/random-tiny-max-avg.cgm" --model "$web/test-models/random-hybrid-attention.cgm")
for rel in "${shipped_rels[@]}"; do npm_models+=(--model "$web/$rel"); done
timeout 900 node "$root/tests/npm/test_package.mjs" --package "$wasm_build/npm" --causalgen "$causalgen" \
  "${npm_models[@]}" 2>&1 | tee "$log"
count "$log" "npm tests"
rm -f "$log"

echo "web tests: $passed passed, $failed failed"
((failed == 0))
