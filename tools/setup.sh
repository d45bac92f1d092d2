#!/usr/bin/env bash
# Installs the Debian packages causalgen needs (run as root on Debian 12).
#   tools/setup.sh          what the library, CLI and trainer need
#   tools/setup.sh --all    also what the whole test suite needs (clang for the
#                           fuzzer, Emscripten, Chromium, arm-none-eabi, QEMU, Node,
#                           Python's numpy, pytest, venv, setuptools, pip and torch
#                           for python/ and causalgen-import-nanogpt)
#   tools/setup.sh --torch  only PyTorch besides the base (the test that compares
#                           the trainer with nanoGPT's model skips without it)
# Packages already installed are skipped, so running it again is cheap.
set -euo pipefail

base=(build-essential cmake pkg-config git ca-certificates python3
      libxtensor-dev libxsimd-dev xtl-dev libcereal-dev catch2 libxtensor-blas-dev
      libopenblas-dev libcli11-dev rapidjson-dev libopenmpi-dev openmpi-bin)
extra=(clang libclang-rt-14-dev emscripten chromium chromium-driver
       gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
       python3-numpy python3-pytest python3-venv python3-setuptools python3-wheel python3-pip
       python3-torch)

want=("${base[@]}")
for arg in "$@"; do
  case "$arg" in
    --all) want+=("${extra[@]}") ;;
    --torch) want+=(python3-torch) ;;
    *) echo "setup: unknown option $arg (--all, --torch)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
