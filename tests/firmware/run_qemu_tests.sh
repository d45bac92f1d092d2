#!/usr/bin/env bash
# Firmware tests: examples/firmware in QEMU prints byte for byte what the
# native CLI prints (same model, prompt, seed, sampler), for f32 and int8
# models, on the Cortex-M4F (mps2-an386, hard float) and the Cortex-M3
# (mps2-an385, soft float). Also compares a digest of every logits vector's
# bits with x86-64, checks that no allocator is linked and that the allocator
# hooks stop the firmware, and prints sizes and instruction counts.
#
#   tests/firmware/run_qemu_tests.sh BUILD_NATIVE
#
# BUILD_NATIVE: a native build folder with tools/causalgen and
# tests/firmware/fw_native. Work files go to $FW_TEST_DIR (default
# BUILD_NATIVE/firmware-tests). Exit status 77 (skipped) when arm-none-eabi-gcc
# or qemu-system-arm is missing. Models: three fixed random models (written
# by fw_native) and every shipped model, examples/models/tiny-shakespeare-X.cgm
# (as shipped-X), whose int8 image on the Cortex-M4F must fit the target board
# class: 1 MiB of flash, 32 KiB of RAM.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: run_qemu_tests.sh BUILD_NATIVE}" && pwd)
CLI=$BUILD/tools/causalgen
FWN=$BUILD/tests/firmware/fw_native
WORK=${FW_TEST_DIR:-$BUILD/firmware-tests}
JOBS=${FW_TEST_JOBS:-2}

for tool in arm-none-eabi-gcc arm-none-eabi-nm arm-none-eabi-size qemu-system-arm cmake python3; do
  if ! command -v "$tool" > /dev/null; then
    echo "firmware tests: SKIPPED ($tool not found; tools/setup.sh --all installs it)"
    exit 77
  fi
done
for f in "$CLI" "$FWN"; do
  [[ -x $f ]] || { echo "firmware tests: $f missing (build the native tree first)"; exit 1; }
done

mkdir -p "$WORK"/models "$WORK"/src "$WORK"/runs
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "  ok   $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL $*"; }

# --- the core, cross-compiled once per CPU (what the presets build) ---------
declare -A CORE BOARD
BOARD[m4f]=mps2-an386
BOARD[m3]=mps2-an385
for arch in m4f m3; do
  tc=$ROOT/cmake/toolchain-cortex-${arch}.cmake
  dir=$WORK/core-$arch
  if ! { cmake -S "$ROOT" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$tc" -DCMAKE_BUILD_TYPE=Release > "$dir.log" 2>&1 &&
         cmake --build "$dir" -j"$JOBS" >> "$dir.log" 2>&1; }; then
    fail "core for $arch does not build (see $dir.log)"
    echo "firmware tests: $passed passed, $failed failed"
    exit 1
  fi
  CORE[$arch]=$dir/lib/libcausalgen.a
  pass "libcausalgen.a for cortex-$arch ($(stat -c %s "${CORE[$arch]}") bytes)"
done

# --- models ----------------------------------------------------------------
"$FWN" models "$WORK/models" > /dev/null || { echo "fw_native models failed"; exit 1; }
models=(tiny hybrid nobias)
for shipped in "$ROOT"/examples/models/tiny-shakespeare-*.cgm; do
  [[ -f $shipped ]] || continue
  name=shipped-$(basename "$shipped" .cgm); name=${name/tiny-shakespeare-/}
  cp "$shipped" "$WORK/models/$name.cgm"
  models+=("$name")
done
[[ ${models[*]} == *shipped-* ]] || echo "  note: no examples/models/tiny-shakespeare-*.cgm; testing the random models only"
FLASH_LIMIT=$((1024 * 1024))  # the deployment target for shipped int8 models on the M4F
RAM_LIMIT=$((32 * 1024))
# int8 versions. Group sizes: the default (64) for the tiny shapes; 8 for the
# hybrid (width 32: the Cortex-M4 assembly path with several groups a row);
# 5 for the width-20 model (the portable path, with a short last group).
group_for() { case $1 in hybrid) echo 8 ;; nobias) echo 5 ;; *) echo 64 ;; esac; }
variants=()
for m in "${models[@]}"; do
  variants+=("$m")
  if "$CLI" convert --model "$WORK/models/$m.cgm" --out "$WORK/models/$m-int8.cgm" --dtype int8 \
       --group-size "$(group_for "$m")" > "$WORK/models/$m-int8.log" 2>&1; then
    variants+=("$m-int8")
  else
    fail "convert --dtype int8 $m ($(tail -1 "$WORK/models/$m-int8.log"))"
  fi
done

# Cases, one a line: "prompt|seed|tokens|temperature|top_k|top_p".
cases_for() {
  case ${1%-int8} in
    tiny)    printf '%s\n' "ROMEO:|1337|120|0.8|0|1" "|42|40|1.0|0|1" ;;
    hybrid)  printf '%s\n' "AB C|7|60|0.8|0|1" "F|3|40|0|0|1" "?!|11|50|1.2|5|0.9" ;;
    nobias)  printf '%s\n' "ÀÉ b|5|80|0.8|0|1" "z|9|40|0.7|3|1" ;;
    shipped-*) printf '%s\n' "ROMEO:|1337|200|0.8|0|1" "|2024|100|0.8|10|0.95" ;;
  esac
}
f32bits() { python3 -c 'import struct,sys; print(struct.pack("<f", float(sys.argv[1]))[::-1].hex())' "$1"; }

for v in "${variants[@]}"; do
  model=$WORK/models/$v.cgm
  src=$WORK/src/$v
  if ! "$CLI" convert --model "$model" --out "$src.c" --c-array --name cg_model_data \
         --header "$src.h" > "$src.log" 2>&1; then
    fail "$v: convert --c-array ($(tail -1 "$src.log"))"
    continue
  fi
  for arch in m4f m3; do
    fw=$WORK/fw-$arch-$v
    if ! { cmake -S "$ROOT/examples/firmware" -B "$fw" \
             -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-cortex-$arch.cmake" \
             -DFW_MODEL_SOURCE="$src.c" -DFW_MODEL_HEADER="$src.h" \
             -DCAUSALGEN_LIBRARY="${CORE[$arch]}" > "$fw.log" 2>&1 &&
           cmake --build "$fw" -j"$JOBS" >> "$fw.log" 2>&1; }; then
      fail "$v/$arch: firmware does not build (see $fw.log)"
      continue
    fi
    elf=$fw/fw.elf
    read -r text data bss _ < <(arm-none-eabi-size "$elf" | tail -1)
    echo "  $v/$arch: flash $((text + data)) B, RAM $((data + bss)) B (text $text, data $data, bss $bss incl. stack)"
    if [[ $v == shipped-*-int8 && $arch == m4f ]]; then
      if ((text + data <= FLASH_LIMIT && data + bss <= RAM_LIMIT)); then
        pass "$v/$arch: fits 1 MiB flash and 32 KiB RAM ($((text + data)) B, $((data + bss)) B)"
      else
        fail "$v/$arch: does not fit 1 MiB flash and 32 KiB RAM ($((text + data)) B, $((data + bss)) B)"
      fi
    fi

    # No allocator in the image: only no_heap.c's trapping hooks.
    if arm-none-eabi-nm "$elf" | grep -qE ' (__malloc_av_|__malloc_free_list|__malloc_sbrk_start|_sbrk_r|__malloc_current_mallinfo)$'; then
      fail "$v/$arch: newlib's allocator is linked in"
    elif ! grep -qE '^_malloc_r +.*no_heap\.c' "$fw/fw.map"; then
      fail "$v/$arch: _malloc_r is not no_heap.c's hook"
    else
      pass "$v/$arch: no allocator linked (malloc/_malloc_r/_sbrk are no_heap.c's hooks)"
    fi

    qemu=(timeout 120 qemu-system-arm -M "${BOARD[$arch]}" -nographic -icount shift=0 -kernel "$elf")
    if [[ $v == tiny && $arch == m4f ]] || [[ $v == hybrid ]]; then
      "${qemu[@]}" -semihosting-config enable=on,target=native,arg=fw.elf,arg=--heap-probe \
        > /dev/null 2> "$WORK/runs/heap-$arch-$v.err" < /dev/null
      rc=$?
      if [[ $rc == 99 ]] && grep -q "FATAL: heap allocation attempted (malloc)" "$WORK/runs/heap-$arch-$v.err"; then
        pass "$v/$arch: malloc at run time stops the firmware loudly (exit 99)"
      else
        fail "$v/$arch: heap probe exited $rc"
      fi
    fi

    i=0
    while IFS='|' read -r prompt seed tokens temp topk topp; do
      [[ -z $seed ]] && continue
      # The M3 emulates f32 in software: fewer characters for the tiny shape.
      [[ $arch == m3 && $v != *int8 && ($v == tiny || $v == shipped-*) && $tokens -gt 30 ]] && tokens=30
      i=$((i + 1))
      base=$WORK/runs/$arch-$v-$i
      hex=-
      [[ -n $prompt ]] && hex=$(printf '%s' "$prompt" | od -An -tx1 | tr -d ' \n')
      tb=$(f32bits "$temp")
      pb=$(f32bits "$topp")
      "$CLI" generate --model "$model" --prompt "$prompt" --seed "$seed" --tokens "$tokens" \
        --temperature "$temp" --top-k "$topk" --top-p "$topp" > "$base.native" 2> "$base.native.err" < /dev/null
      "${qemu[@]}" -semihosting-config "enable=on,target=native,arg=fw.elf,arg=--prompt-hex,arg=$hex,arg=--seed,arg=$seed,arg=--tokens,arg=$tokens,arg=--temperature-bits,arg=$tb,arg=--top-k,arg=$topk,arg=--top-p-bits,arg=$pb,arg=--digest" \
        > "$base.fw" 2> "$base.fw.err" < /dev/null
      rc=$?
      what="$v/$arch case $i (prompt '${prompt}', seed $seed, $tokens chars, T=$temp k=$topk p=$topp)"
      if [[ $rc != 0 ]]; then
        fail "$what: firmware exited $rc: $(head -c 300 "$base.fw.err")"
        continue
      fi
      if ! cmp -s "$base.native" "$base.fw"; then
        fail "$what: output differs from the native CLI (diff $base.native $base.fw)"
        continue
      fi
      want=$("$FWN" digest "$model" "$hex" "$seed" "$tokens" "$tb" "$topk" "$pb" < /dev/null)
      got=$(sed -n 's/^fw: logits_digest //p' "$base.fw.err")
      if [[ $want != "$got" ]]; then
        fail "$what: same text but the logits' bits differ (x86 $want, firmware $got)"
        continue
      fi
      ticks=$(sed -n 's/^fw: generate_ticks //p' "$base.fw.err")
      stack=$(sed -n 's/^fw: stack_used_bytes //p' "$base.fw.err")
      state=$(sed -n 's/^fw: state_bytes //p' "$base.fw.err")
      # -icount shift=0: one instruction per ns; SysTick counts the 25 MHz
      # processor clock, so one tick is 40 instructions (--calibrate checks it).
      per=$((tokens > 0 ? ticks * 40 / tokens : 0))
      pass "$what: identical ($(wc -c < "$base.fw") bytes, logits digest $got; state $state B, stack $stack B, ~$per instructions/char)"
    done < <(cases_for "$v")
  done
done

# SysTick calibration: 40 instructions per tick under -icount shift=0.
for arch in m4f m3; do
  elf=$WORK/fw-$arch-hybrid/fw.elf
  [[ -f $elf ]] || continue
  out=$(timeout 60 qemu-system-arm -M "${BOARD[$arch]}" -nographic -icount shift=0 -kernel "$elf" \
          -semihosting-config enable=on,target=native,arg=fw.elf,arg=--calibrate 2>&1)
  n=$(sed -n 's/^fw: calibrate_instructions //p' <<< "$out")
  t=$(sed -n 's/^fw: calibrate_ticks //p' <<< "$out")
  if [[ -n $t && $t -gt 0 && $(( (n - 40 * t) * (n - 40 * t) )) -le 6400 ]]; then  # within 2 ticks
    pass "$arch: SysTick calibration ($n instructions = $t ticks, 40 per tick)"
  else
    fail "$arch: SysTick calibration: $out"
  fi
done

echo "firmware tests: $passed passed, $failed failed"
[[ $failed == 0 ]]
