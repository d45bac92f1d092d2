#!/usr/bin/env bash
# Installs python/ into a fresh venv the way the README tells users to (no
# package index: Debian's setuptools, numpy, pytest and torch through
# --system-site-packages), then runs its pytest suite with the installed copy.
#   run_python_tests.sh PYTHON PACKAGE_DIR LIBCAUSALGEN_C CLI EMIT_LOGITS WORK_DIR
# $CAUSALGEN_TEST_PRELOAD: sanitizer runtimes to preload into Python (a sanitizer build).
set -euo pipefail
python=$1 package=$2 library=$3 cli=$4 emit=$5 work=$6

rm -rf "$work"
mkdir -p "$work"
"$python" -m venv --system-site-packages "$work/venv"
# pip builds in the folder it is given: a copy, so the checkout stays clean.
cp -r "$package" "$work/src"
rm -rf "$work/src/build" "$work/src"/*.egg-info
CAUSALGEN_LIBRARY="$library" "$work/venv/bin/pip" install -q --no-build-isolation --no-index \
  --no-deps "$work/src"

# From an unrelated folder, with the library found only as the package's own copy.
cd "$work"
unset CAUSALGEN_LIBRARY
if [[ -n "${CAUSALGEN_TEST_PRELOAD// /}" ]]; then
  export LD_PRELOAD="${CAUSALGEN_TEST_PRELOAD# }" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
fi
CAUSALGEN_CLI="$cli" CAUSALGEN_EMIT_LOGITS="$emit" CAUSALGEN_EXPECT_INSTALLED="$work/venv" \
  exec "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$package/tests"
